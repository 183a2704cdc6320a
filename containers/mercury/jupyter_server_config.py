# The image's server defaults (docker-stacks conventions): listen on every interface of the container,
# port 8888, no browser, the user's home as the root. Anything here can be overridden on the command line.
import os

c = get_config()  # noqa: F821 - provided by Jupyter
c.ServerApp.ip = "0.0.0.0"
c.ServerApp.port = 8888
c.ServerApp.open_browser = False
c.ServerApp.root_dir = os.path.expanduser("~")
c.ServerApp.terminado_settings = {"shell_command": ["/bin/bash"]}
