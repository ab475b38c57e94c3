"""The form steps, one module each (sign-in is screens/welcome.py, review screens/review.py)."""
from screens.steps.addons import AddonsScreen
from screens.steps.cluster import ClusterScreen
from screens.steps.common import switch_row
from screens.steps.features import FeaturesScreen
from screens.steps.gpu import GpuScreen
from screens.steps.identity import IdentityScreen
from screens.steps.location import LocationScreen
from screens.steps.mesh import MeshScreen
from screens.steps.network import NetworkScreen
from screens.steps.subscription import SubscriptionScreen

__all__ = ["AddonsScreen", "ClusterScreen", "FeaturesScreen", "GpuScreen", "IdentityScreen", "LocationScreen", "MeshScreen",
           "NetworkScreen",
           "SubscriptionScreen", "switch_row"]
