"""The deploy files against the code: every variable the code reads is set (or knowingly left at its
default) where it matters, and nothing sets a variable no code reads. Read from the source with ast, so
a variable added to a config module fails here until compose and Kubernetes know about it."""
import ast
import re
from functools import lru_cache

import yaml

from shared.testing import ROOT

DEPLOY = ROOT / "deploy"


def reader_names(tree):
    """Helpers whose first parameter names the variable they read: `def env_int(name, default)` and the like."""
    return {node.name for node in ast.walk(tree) if isinstance(node, ast.FunctionDef)
            and node.args.args and node.args.args[0].arg == "name"}


SHARED_CONFIG = ROOT / "shared" / "platform" / "config.py"
# Calls whose first argument names an environment variable: shared/platform/config.py's helpers (and a module's own).
READERS = reader_names(ast.parse(SHARED_CONFIG.read_text()))
# Their default is a development value: a container must set these.
ALWAYS_REQUIRED_READERS = {"database_url", "secret"}
LOCAL_DEFAULT = re.compile(r"127\.0\.0\.1|localhost")
# Defaults that are safe for development and wrong in any deployment, whatever their text.
POLICY_REQUIRED = {"DESKLINE_ENV", "EMAIL_BACKEND"}
# Each component: the folder of its code under services/, and its config modules.
COMPONENT_PACKAGE = {
    "tickets": "tickets", "notifier": "notifier", "chat": "chat",
    "gateway": "tracker_gateway", "tracker_projector": "tracker_gateway/projector",
    # The SMTP receiver: the notifier's package and settings, another process.
    "inbound_smtp": "notifier",
    # Webhook deliveries: the notifier's package and database, another process with queues of its own.
    "webhooks": "notifier",
    # The customers' chat streams: the gateway's package and settings, an asyncio process of its own.
    "chat_stream": "tracker_gateway",
}
COMPONENT_CONFIGS = {
    component: [ROOT / "services" / package / "config.py"] for component, package in COMPONENT_PACKAGE.items()
}
COMPONENT_CONFIGS["webhooks"].append(ROOT / "services" / "notifier" / "webhooks" / "config.py")
# The gateway reads the tracker's read model where its projector writes it: one function of projector/config.py.
READ_MODEL_SETTINGS = (ROOT / "services" / "tracker_gateway" / "projector" / "config.py", "read_model_settings")
COMPONENTS = set(COMPONENT_PACKAGE) | {"migrate"}
# The migrate job runs every migrate and the gateway's bootstrap, which creates the admin.
EXTRA_REQUIRED = {"migrate": {"ADMIN_PASSWORD"}}


class ModuleScan:
    """What one module reads from the environment: per function (for helpers called by name) and in all."""

    def __init__(self, path):
        tree = ast.parse(path.read_text())
        self.readers = READERS | reader_names(tree)
        self.constants = {
            node.targets[0].id: node.value.value for node in tree.body
            if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name)
            and isinstance(node.value, ast.Constant)
        }
        # Dataclass field defaults, for `env("X", defaults.field)`.
        self.fields = {
            item.target.id: item.value.value for node in ast.walk(tree) if isinstance(node, ast.ClassDef)
            for item in node.body
            if isinstance(item, ast.AnnAssign) and isinstance(item.value, ast.Constant)
        }
        self.functions = {node.name: self._scan(node) for node in ast.walk(tree) if isinstance(node, ast.FunctionDef)}
        self.reads, self.calls = self._scan(tree)

    def only(self, function):
        """This scan narrowed to one function of the module (a config module shared by two components)."""
        self.reads, self.calls = self.functions[function]
        return self

    def _default(self, node):
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, ast.Name):
            return self.constants.get(node.id)
        if isinstance(node, ast.Attribute):
            return self.fields.get(node.attr)
        return None

    def _scan(self, root):
        reads, calls = {}, set()
        for node in ast.walk(root):
            if not isinstance(node, ast.Call):
                continue
            name = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", None)
            calls.add(name)
            if name in self.readers and node.args and isinstance(node.args[0], ast.Constant):
                variable = node.args[0].value
                defaults = [self._default(arg) for arg in node.args[1:]]
                required = name in ALWAYS_REQUIRED_READERS or any(
                    isinstance(value, str) and LOCAL_DEFAULT.search(value) for value in defaults)
                reads[variable] = reads.get(variable, False) or required
        return reads, calls


def shared_module_path(name):
    """shared/contracts/enums.py for 'contracts.enums'."""
    return ROOT / "shared" / (name.replace(".", "/") + ".py")


def shared_modules():
    """{dotted name under shared: path} of the product's shared modules (not the test helpers)."""
    return {".".join(path.relative_to(ROOT / "shared").with_suffix("").parts): path
            for path in (ROOT / "shared").rglob("*.py") if path.name != "__init__.py" and "testing" not in path.parts}


def env_modules():
    """shared/ modules that read variables themselves (beside shared/platform/config.py's helpers)."""
    return {name: path for name, path in shared_modules().items() if path != SHARED_CONFIG and ModuleScan(path).reads}


def shared_imports(text):
    """Dotted names (under shared) of the shared modules a source text imports."""
    names = set()
    imported_groups = re.findall(r"\bfrom shared((?:\.\w+)*) import \(([^)]*)\)", text)
    imported_groups += re.findall(r"^\s*from shared((?:\.\w+)*) import ([\w, ]+)$", text, re.M)
    for package, group in imported_groups:
        package = package.lstrip(".")
        if package:
            names.add(package)
        for imported in (item.split(" as ")[0].strip() for item in group.split(",") if item.strip()):
            names.add(f"{package}.{imported}".lstrip("."))  # `from shared.platform import observability`
    names |= set(re.findall(r"\bimport shared\.([\w.]+)", text))
    return names


def imports(package, module):
    """Whether the package imports shared.<module>, itself or through other shared modules."""
    pending = set().union(*(shared_imports(path.read_text()) for path in (ROOT / "services" / package).rglob("*.py")))
    seen = set()
    while pending:
        name = pending.pop()
        if name in seen or not shared_module_path(name).exists():
            continue
        seen.add(name)
        pending |= shared_imports(shared_module_path(name).read_text())
    return module in seen


@lru_cache
def code_requirements():
    """{component: {variable: must be set in a deployment}} from the source."""
    helpers = ModuleScan(SHARED_CONFIG).functions
    result = {}
    for component, package in COMPONENT_PACKAGE.items():
        scans = [ModuleScan(path) for path in COMPONENT_CONFIGS[component]]
        if component == "gateway":
            path, function = READ_MODEL_SETTINGS
            scans.append(ModuleScan(path).only(function))
        scans += [ModuleScan(path) for name, path in env_modules().items() if imports(package, name)]
        reads, pending, seen = {}, set(), set()
        for scan in scans:
            for variable, required in scan.reads.items():
                reads[variable] = reads.get(variable, False) or required
            pending |= scan.calls
        while pending:  # helpers of shared/platform/config.py, and the helpers they call
            name = pending.pop()
            if name in seen or name not in helpers:
                continue
            seen.add(name)
            helper_reads, helper_calls = helpers[name]
            for variable, required in helper_reads.items():
                reads[variable] = reads.get(variable, False) or required
            pending |= helper_calls
        for variable in POLICY_REQUIRED & set(reads):
            reads[variable] = True
        result[component] = reads
    migrate = {}
    for reads in result.values():
        for variable, required in reads.items():
            migrate[variable] = migrate.get(variable, False) or required
    result["migrate"] = migrate
    for component, variables in EXTRA_REQUIRED.items():
        result[component].update(dict.fromkeys(variables, True))
    return result


def code_variables():
    return {component: set(reads) for component, reads in code_requirements().items()}


def required_variables(component):
    return {variable for variable, required in code_requirements()[component].items() if required}


def image_variables():
    """Variables the image itself sets (final stage ENV)."""
    final = (DEPLOY / "Dockerfile").read_text().rsplit("\nFROM ", 1)[1]
    joined = re.sub(r"\\\n\s*", " ", final)
    return {name for line in joined.splitlines() if line.startswith("ENV ")
            for name in re.findall(r"([A-Z_][A-Z0-9_]*)=", line)}


def flatten(items):
    for item in items:
        if isinstance(item, list):
            yield from flatten(item)
        else:
            yield item


# ------------------------------------------------------------------ the scan itself

def test_the_scan_finds_what_the_services_read():
    code = code_requirements()
    assert {"AMQP_URI", "LOG_LEVEL", "TICKETS_DATABASE_URL", "TICKETS_MAX_WORKERS"} <= set(code["tickets"])
    assert "DESKLINE_ENV" not in code["tickets"]  # it has no secret, so production changes nothing in it
    assert code["notifier"]["DESKLINE_ENV"] and code["gateway"]["DESKLINE_ENV"]
    assert code["tickets"]["AMQP_URI"] and code["tickets"]["TICKETS_DATABASE_URL"]
    assert not code["tickets"]["TICKETS_MAX_WORKERS"]
    # Through the Settings dataclass' defaults.
    assert code["notifier"]["SMTP_HOST"] and code["notifier"]["SENDER_EMAIL"] and code["notifier"]["TRACKER_LINK_SECRET"]
    assert not code["notifier"]["NOTIFIER_MAX_ATTEMPTS"] and "TRACKER_LINK_MAX_AGE_DAYS" in code["notifier"]
    assert code["gateway"]["JWT_SECRET"] and code["gateway"]["REDIS_URL"] and code["gateway"]["GATEWAY_HOST"]
    assert "TRACKER_LINK_SECRET" not in code["chat"]
    # Through shared.platform.runtime's Pingable, which every nameko service uses.
    assert all("METRICS_PORT" in code[component] and "LOG_FORMAT" in code[component] for component in COMPONENTS)


def test_no_variable_is_read_outside_the_scanned_modules():
    """The scan is complete only if every read goes through the config modules and shared helpers."""
    scanned = {SHARED_CONFIG, *env_modules().values(), *(path for paths in COMPONENT_CONFIGS.values() for path in paths)}
    for path in [*(ROOT / "services").rglob("*.py"), *shared_modules().values()]:
        if path in scanned:
            continue
        text = path.read_text()
        assert not re.search(r"os\.environ|getenv", text), f"{path} reads the environment itself"
        assert not ModuleScan(path).reads, f"{path} reads variables outside its config module"


# ------------------------------------------------------------------ compose

@lru_cache
def compose():
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text())


def test_compose_names_every_component_and_the_infrastructure():
    services = compose()["services"]
    assert COMPONENTS | {"postgres", "rabbitmq", "redis"} <= set(services)
    for component in COMPONENTS:
        service = services[component]
        assert service["command"] == [component], component
        assert "build" in service and service["image"].startswith("${DESKLINE_IMAGE")
        # Scalable with --scale: no fixed name, no host port.
        assert "container_name" not in service and "ports" not in service, component
        if component != "migrate":
            assert service["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}
            assert service["healthcheck"]["test"][:3] == ["CMD", "/app/deploy/start.sh", "probe"]
            assert service["restart"] == "unless-stopped"
    assert services["migrate"]["restart"] == "no"
    # nameko services probe themselves by name; the gateway over HTTP.
    for component in ("tickets", "notifier", "chat", "tracker_projector"):
        assert services[component]["healthcheck"]["test"][3:] == [component]
    assert services["gateway"]["healthcheck"]["test"][3:] == ["--http", "http://127.0.0.1:8000/readyz"]
    assert services["chat_stream"]["healthcheck"]["test"][3:] == ["--http", "http://127.0.0.1:8001/healthz"]
    # docs/scaling.md on one box: two tickets instances and two gateways; event queues classic unless set.
    assert services["tickets"]["deploy"]["replicas"] == "${TICKETS_REPLICAS:-2}"
    assert services["gateway"]["deploy"]["replicas"] == "${GATEWAY_REPLICAS:-2}"
    assert compose()["x-env"]["common"]["EVENT_QUEUE_TYPE"] == "${EVENT_QUEUE_TYPE:-classic}"


def test_compose_sets_what_the_code_needs_and_nothing_it_does_not_read():
    services, defaults = compose()["services"], compose()["x-deskline-defaults"]
    image = image_variables()
    for component in COMPONENTS:
        reads = code_variables()[component]
        environment = set(services[component]["environment"])
        kept = set(flatten(defaults[component]))
        assert environment - reads == set(), f"{component}: set but read by no code"
        assert kept - reads == set(), f"{component}: x-deskline-defaults names what the code does not read"
        assert reads - environment - image - kept == set(), f"{component}: read by the code, neither set nor listed as default"
        assert required_variables(component) - environment - image == set(), f"{component}: must be set in a container"
        if "DESKLINE_ENV" in reads:
            assert services[component]["environment"]["DESKLINE_ENV"] == "production"


def test_compose_interpolates_only_documented_variables():
    text = (DEPLOY / "compose.yaml").read_text()
    example = (DEPLOY / "compose.env.example").read_text()
    documented = set(re.findall(r"^#?\s*([A-Z_][A-Z0-9_]*)=", example, re.M))
    used = {}
    for name, operator in re.findall(r"\$\{([A-Z_][A-Z0-9_]*)(:?[-?])?", text):
        used[name] = used.get(name, False) or operator in (":?", "?")
    assert set(used) <= documented, set(used) - documented
    assert documented <= set(used), documented - set(used)
    # The secrets have no default: compose refuses to start without them.
    for secret in ("POSTGRES_PASSWORD", "RABBITMQ_PASSWORD", "JWT_SECRET", "TRACKER_LINK_SECRET", "ADMIN_PASSWORD"):
        assert used[secret], f"{secret} must be required (${{{secret}:?...}})"
        assert re.search(rf"^{secret}=$", example, re.M), f"{secret} must be empty in the example"


# ------------------------------------------------------------------ Kubernetes

@lru_cache
def manifests():
    documents = []
    for path in sorted((DEPLOY / "kubernetes").glob("*.yaml")):
        documents += [(path.name, doc) for doc in yaml.safe_load_all(path.read_text()) if doc]
    return documents


def of_kind(kind):
    return [doc for _, doc in manifests() if doc["kind"] == kind]


def workloads():
    """{component: container} for every Deployment and the Job; the component is the container's argument."""
    found = {}
    for doc in of_kind("Deployment") + of_kind("Job"):
        (container,) = doc["spec"]["template"]["spec"]["containers"]
        found[container["args"][0]] = container
    return found


def test_kubernetes_sets_what_the_code_needs_and_nothing_it_does_not_read():
    (config_map,) = of_kind("ConfigMap")
    (secret,) = of_kind("Secret")
    shared, secret_keys = set(config_map["data"]), set(secret["stringData"])
    everything = set().union(*code_variables().values())
    assert shared - everything == set(), "ConfigMap keys no code reads"
    assert secret_keys - everything == set(), "Secret keys no code reads"
    assert set(workloads()) == COMPONENTS
    used_secrets = set()
    for component, container in workloads().items():
        from_config_map = any(source.get("configMapRef", {}).get("name") == "deskline-config"
                              for source in container.get("envFrom", []))
        environment = {item["name"] for item in container.get("env", [])}
        assert environment - code_variables()[component] == set(), f"{component}: env no code of it reads"
        for item in container.get("env", []):
            ref = item["valueFrom"]["secretKeyRef"]
            assert ref["name"] == "deskline-secrets" and ref["key"] == item["name"] and ref["key"] in secret_keys
            used_secrets.add(ref["key"])
        available = environment | image_variables() | (shared if from_config_map else set())
        assert required_variables(component) - available == set(), f"{component}: must be set in a pod"
    assert used_secrets == secret_keys, "a Secret key no pod is given"
    assert config_map["data"]["DESKLINE_ENV"] == "production"
