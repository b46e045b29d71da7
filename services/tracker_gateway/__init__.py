"""The tracker gateway: Deskline's one HTTP edge (agent API, OpenAPI, public ticket tracker)."""
import warnings

# nameko imports eventlet, which announces its deprecation; known (field notes). The gateway
# imports it without monkey patching: gunicorn's gthread workers stay plain threads.
warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")
