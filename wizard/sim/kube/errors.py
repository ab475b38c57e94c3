"""metav1.Status error bodies as kube-apiserver writes them."""

from __future__ import annotations


class KubeError(Exception):
    def __init__(self, code: int, reason: str, message: str, details: dict | None = None):
        super().__init__(message)
        self.code, self.reason, self.message, self.details = code, reason, message, details

    def status(self) -> dict:
        out = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": self.message,
               "reason": self.reason, "code": self.code}
        if self.details is not None:
            out["details"] = self.details
        return out


def _details(name, group, kind, causes=None):
    d = {}
    if name:
        d["name"] = name
    if group:
        d["group"] = group
    if kind:
        d["kind"] = kind
    if causes:
        d["causes"] = causes
    return d


def not_found(res, name: str) -> KubeError:
    return KubeError(404, "NotFound", f'{res.qualified} "{name}" not found', _details(name, res.group, res.plural))


def no_resource() -> KubeError:
    return KubeError(404, "NotFound", "the server could not find the requested resource", {})


def already_exists(res, name: str) -> KubeError:
    return KubeError(409, "AlreadyExists", f'{res.qualified} "{name}" already exists',
                     _details(name, res.group, res.plural))


def conflict(res, name: str, msg: str = "the object has been modified; please apply your changes to the latest "
                                         "version and try again") -> KubeError:
    return KubeError(409, "Conflict", f'Operation cannot be fulfilled on {res.qualified} "{name}": {msg}',
                     _details(name, res.group, res.plural))


def invalid(res, name: str, causes: list[dict]) -> KubeError:
    what = f"{res.kind}.{res.group}" if res.group else res.kind
    text = ", ".join(f"{c['field']}: {c['message']}" for c in causes)
    msg = f'{what} "{name}" is invalid: {text}' if len(causes) == 1 else f'{what} "{name}" is invalid: [{text}]'
    return KubeError(422, "Invalid", msg, _details(name, res.group, res.kind, causes))


def bad_request(msg: str) -> KubeError:
    return KubeError(400, "BadRequest", msg)


def method_not_allowed(msg: str = "the server does not allow this method on the requested resource") -> KubeError:
    return KubeError(405, "MethodNotAllowed", msg, {})


def unsupported_media(msg: str) -> KubeError:
    return KubeError(415, "UnsupportedMediaType", msg)


def forbidden(res, name: str, msg: str) -> KubeError:
    return KubeError(403, "Forbidden", f'{res.qualified} "{name}" is forbidden: {msg}',
                     _details(name, res.group, res.plural))


def unavailable(msg: str = "the server is currently unable to handle the request") -> KubeError:
    return KubeError(503, "ServiceUnavailable", msg, {})


def internal(msg: str) -> KubeError:
    return KubeError(500, "InternalError", f"Internal error occurred: {msg}", {"causes": [{"message": msg}]})


def unauthorized() -> KubeError:
    return KubeError(401, "Unauthorized", "Unauthorized")
