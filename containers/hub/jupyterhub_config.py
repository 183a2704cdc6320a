"""JupyterHub with DockerSpawner offering vrelab's tiers in an image picker.

Operators set, in the hub's environment:
  VRELAB_IMAGE_REGISTRY   where the tiers' images are (default localhost/vrelab)
  VRELAB_IMAGE_TAG        which build of them (default latest)
  VRELAB_DEFAULT_TIER     the pre-selected tier (default earth)
  VRELAB_HUB_NETWORK      the Docker network the hub and the user servers share (default vrelab-hub)
  VRELAB_LAKE_INSTANCES, VRELAB_DEFAULT_LAKE_INSTANCE, RUCIO_*   the data-lake settings, handed to
                          every user's server as they are (leave them unset at a school without a lake:
                          the images then offer the tools only)
"""

import os

c = get_config()  # noqa: F821 - provided by JupyterHub

REGISTRY = os.environ.get("VRELAB_IMAGE_REGISTRY", "localhost/vrelab").rstrip("/")
TAG = os.environ.get("VRELAB_IMAGE_TAG", "latest")
#: the picker's entries: key (what a user or the REST API asks for) -> image
TIERS = {
    "mercury": "Mercury: JupyterLab, the Rucio client and vrelab",
    "venus": "Venus: Mercury and DevOps tools",
    "earth": "Earth: the common HEP Python stack and the school notebooks",
    "mars": "Mars: a slim Earth for quick spawns",
    "jupyter": "Jupyter: everything (ROOT, workflow tools, extra kernels)",
}
#: environment variables that configure the data lake in the user's server, passed through when set
LAKE_ENV_PREFIXES = ("VRELAB_LAKE_", "VRELAB_DEFAULT_LAKE_", "RUCIO_")

c.JupyterHub.spawner_class = "dockerspawner.DockerSpawner"
c.DockerSpawner.allowed_images = {name: f"{REGISTRY}/{name}:{TAG}" for name in TIERS}
c.DockerSpawner.image = c.DockerSpawner.allowed_images[os.environ.get("VRELAB_DEFAULT_TIER", "earth")]
c.DockerSpawner.pull_policy = "ifnotpresent"
c.DockerSpawner.network_name = os.environ.get("VRELAB_HUB_NETWORK", "vrelab-hub")
c.DockerSpawner.remove = True
c.DockerSpawner.notebook_dir = "/home/jovyan"
c.DockerSpawner.volumes = {"vrelab-home-{username}": "/home/jovyan"}
c.DockerSpawner.cmd = ["start-singleuser.sh"]
c.DockerSpawner.environment = {key: value for key, value in os.environ.items() if key.startswith(LAKE_ENV_PREFIXES)}
c.Spawner.default_url = "/lab"
c.Spawner.mem_limit = os.environ.get("VRELAB_MEM_LIMIT", "4G")

# the hub listens where the user containers can reach it (the shared network)
c.JupyterHub.hub_ip = "0.0.0.0"
c.JupyterHub.hub_connect_ip = os.environ.get("VRELAB_HUB_CONNECT_IP", "jupyterhub")
