"""Limits gunicorn enforces before a request reaches the app, in one place: gunicorn_conf.py applies
them and the OpenAPI document (api/openapi.py) tells API clients about them."""

# Bytes in the request line (method, path, query string, protocol): gunicorn's own default, said
# explicitly. A longer one is answered 414 URI Too Long (an HTML page of gunicorn's, not JSON).
MAX_REQUEST_LINE = 4094
