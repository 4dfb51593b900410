"""`python -m attention_layers serve RUN_OR_EXPORT`: TensorFlow Serving's REST API, locally.

    python -m attention_layers serve runs/translator-builtin            # 127.0.0.1:8501
    curl -d '{"instances": ["El gato duerme."]}' \\
        localhost:8501/v1/models/translator:predict
    {"predictions": ["the cat sleeps."]}

The server answers the requests of TensorFlow Serving's REST API (its `api_rest.md`) for
what our exports offer, with the same JSON, so that a client written for
`tensorflow_model_server` works against it unchanged:

- `GET /v1/models/NAME[/versions/N]`: the model's status, `{"model_version_status":
  [{"version": "2", "state": "AVAILABLE", "status": {"error_code": "OK", ...}}]}`;
- `GET /v1/models/NAME[/versions/N]/metadata`: `{"model_spec": ..., "metadata":
  {"signature_def": {"signature_def": {...}}}}`, the SavedModel's signatures;
- `POST /v1/models/NAME[/versions/N]:predict` with `{"signature_name": ..., "instances":
  [...]}` (the row format: `{"predictions": [...]}` back, one value per instance, or one
  object per instance when the signature has several outputs) or `{"inputs": ...}` (the
  columnar format: `{"outputs": ...}` back). `beam_search`'s `beam_width` is a scalar,
  which the row format cannot express (every row input gets a batch dimension): send it
  in the columnar format, `{"signature_name": "beam_search", "inputs": {"text": [...],
  "beam_width": 4}}`. Strings come back as UTF-8 text.

NAME is `translator` or `classifier` (the export's kind, from `assets.extra/export.json`)
unless `--model-name` says otherwise. As TensorFlow Serving does by default, the newest
version of the base folder is served; other versions and names are 404s.

Errors are TensorFlow Serving's `{"error": "..."}` with its status codes: 400 for a bad
request (invalid JSON, an unknown signature, a number where a string belongs, a missing
input), 404 for an unknown model or version, 413 for a body over `--max-request-mb`,
504 when a request takes more than `--timeout` seconds (its answer is dropped), 500 for
anything else. Requests with more than `--max-instances` sentences are refused (400):
the export decodes them in chunks, but one request should not hold the server for minutes.

Why aiohttp: a maintained asyncio web framework (one dependency, no C compiler needed,
wheels for every platform TensorFlow supports) that gives, built in, what a server
facing untrusted clients needs: a request-size limit that answers 413 before reading a
large body (`client_max_size`), one event loop that holds many slow clients at once,
and `run_app`'s clean stop on SIGINT and SIGTERM (it stops accepting, lets requests in
flight finish for a grace period, then closes). The model runs in a small thread pool
(TensorFlow releases the GIL while it computes), so the loop keeps answering status
requests and time limits while sentences are translated; each request has its own
tensors, so concurrent answers cannot mix. (A WSGI stack such as waitress + Flask would
need a thread per waiting client, and starlette + uvicorn two packages for the same.)
"""

import asyncio
import base64
import binascii
import concurrent.futures
import json
import pathlib
import re
import sys
import time

from attention_layers.apps.command_line import (
    CommandParser,
    add_address_flags,
    listening_socket,
    url_host,
)

DEFAULT_PORT = 8501
DEFAULT_MAX_REQUEST_MB = 10
DEFAULT_MAX_INSTANCES = 1024
DEFAULT_TIMEOUT = 30.0  # seconds; tensorflow_model_server's --rest_api_timeout_in_ms
DEFAULT_WORKERS = 2
DEFAULT_SIGNATURE = "serving_default"

# TensorFlow Serving's URL patterns (model_servers/http_rest_api_util.cc), without labels.
_PREDICT_PATH = re.compile(r"/v1/models/([^/:]+)(?:/versions/(\d+))?:(classify|regress|predict)", re.I)
_STATUS_PATH = re.compile(r"/v1/models(?:/([^/:]+))?(?:/versions/(\d+))?(?:/(metadata))?", re.I)
_API_PATH = re.compile(r"/v1/.*", re.I)
_INT32 = (-(2**31), 2**31 - 1)


class RequestError(Exception):
    """A request that gets `{"error": message}` with HTTP `status`."""

    def __init__(self, status, message):
        super().__init__(message)
        self.status = status
        self.message = message


def _json_type(value):
    if isinstance(value, bool):
        return "Bool"
    if isinstance(value, (int, float)):
        return "Number"
    if value is None:
        return "Null"
    return {str: "String", list: "Array", dict: "Object"}.get(type(value), type(value).__name__)


def _leaf(value, dtype, name):
    """One JSON value as a Python value of the input's dtype (`"string"` or an int)."""
    if dtype == "string":
        if isinstance(value, str):
            return value.encode("utf-8")
        if isinstance(value, dict) and set(value) == {"b64"} and isinstance(value["b64"], str):
            try:
                return base64.b64decode(value["b64"], validate=True)
            except (binascii.Error, ValueError):
                raise RequestError(400, f"Unable to base64 decode the value of '{name}'") from None
        raise RequestError(
            400,
            f"JSON Value: {json.dumps(value)} Type: {_json_type(value)} is not of expected "
            f"type: string (input '{name}' takes text)",
        )
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise RequestError(
            400,
            f"JSON Value: {json.dumps(value)} Type: {_json_type(value)} is not of expected "
            f"type: {dtype} (input '{name}')",
        )
    if isinstance(value, float) and not value.is_integer():
        raise RequestError(400, f"JSON Value: {value} is not an integer (input '{name}')")
    value = int(value)
    if dtype == "int32" and not _INT32[0] <= value <= _INT32[1]:
        raise RequestError(400, f"JSON Value: {value} is out of range for int32 (input '{name}')")
    return value


def _tensor_value(value, dtype, name):
    """A JSON value (nested lists of leaves) as `(nested Python lists, shape)`."""
    if not isinstance(value, list):
        return _leaf(value, dtype, name), []
    items = [_tensor_value(item, dtype, name) for item in value]
    shapes = {tuple(shape) for _, shape in items}
    if len(shapes) > 1:
        raise RequestError(
            400, f"Input '{name}' is ragged: its lists at one level have different lengths"
        )
    inner = list(shapes.pop()) if shapes else []
    return [item for item, _ in items], [len(items), *inner]


class ServedModel:
    """One export, loaded, with what the REST API says about it.

    Args:
        path: the SavedModel folder.
        version: its version number.
        name: the model name in URLs.
    """

    def __init__(self, path, version, name):
        import tensorflow as tf
        import tensorflow_text  # noqa: F401  (registers the text ops the graph uses)

        self.path = pathlib.Path(path)
        self.version = version
        self.name = name
        self._tf = tf
        self.loaded = tf.saved_model.load(str(self.path))
        self.signatures = dict(self.loaded.signatures)
        self.inputs = {}  # signature -> {input name: (dtype name, rank or None)}
        for signature, function in self.signatures.items():
            specs = function.structured_input_signature[1]
            self.inputs[signature] = {
                key: (spec.dtype.name, spec.shape.rank) for key, spec in sorted(specs.items())
            }
        self._metadata = self._read_signature_defs()

    def warm_up(self):
        """Calls each signature once on a one-sentence batch, so that the first request
        does not pay for setting up the graphs."""
        for signature, specs in self.inputs.items():
            tensors = {
                name: (([b""] if dtype == "string" else [1]) if rank else (b"" if dtype == "string" else 1),
                       [1] if rank else [])
                for name, (dtype, rank) in specs.items()
            }
            self.predict(signature, tensors, row_format=False)

    def _read_signature_defs(self):
        from google.protobuf import json_format
        from tensorflow.core.protobuf import saved_model_pb2

        saved_model = saved_model_pb2.SavedModel()
        saved_model.ParseFromString((self.path / "saved_model.pb").read_bytes())
        signature_defs = saved_model.meta_graphs[0].signature_def
        return {
            key: json_format.MessageToDict(
                signature_defs[key],
                preserving_proto_field_name=True,
                always_print_fields_with_no_presence=True,
            )
            for key in sorted(signature_defs)
            if not key.startswith("__")  # `__saved_model_init_op`: not a signature to call
        }

    def status(self):
        """`GetModelStatusResponse` as JSON (TF Serving's model status API)."""
        return {
            "model_version_status": [
                {
                    "version": str(self.version),
                    "state": "AVAILABLE",
                    "status": {"error_code": "OK", "error_message": ""},
                }
            ]
        }

    def metadata(self):
        """`GetModelMetadataResponse` as JSON (TF Serving's model metadata API)."""
        return {
            "model_spec": {"name": self.name, "signature_name": "", "version": str(self.version)},
            "metadata": {"signature_def": {"signature_def": self._metadata}},
        }

    def parse_predict(self, body, max_instances):
        """A `:predict` request body -> `(signature, {input: (values, shape)}, row format)`."""
        try:
            return self._parse_predict(body, max_instances)
        except RecursionError:
            raise RequestError(400, "JSON Parse error: the request is nested too deeply") from None

    def _parse_predict(self, body, max_instances):
        try:
            request = json.loads(body)
        except UnicodeDecodeError as error:
            raise RequestError(400, f"JSON Parse error: the body is not UTF-8 ({error})") from None
        except json.JSONDecodeError as error:
            raise RequestError(
                400, f"JSON Parse error: {error.msg} at offset: {error.pos}"
            ) from None
        if not isinstance(request, dict):
            raise RequestError(400, "JSON Value: the request is not an object")
        signature = request.get("signature_name", DEFAULT_SIGNATURE)
        if not isinstance(signature, str):
            raise RequestError(400, "'signature_name' key must be a string")
        signature = signature or DEFAULT_SIGNATURE
        if signature not in self.inputs:
            raise RequestError(
                400,
                f'Serving signature name: "{signature}" not found in signature def '
                f"(this model has: {', '.join(sorted(self.inputs))})",
            )
        specs = self.inputs[signature]
        if "instances" in request and "inputs" in request:
            raise RequestError(
                400, "Not formatted correctly expecting only one of 'inputs' or 'instances' keys to exist"
            )
        unknown = sorted(set(request) - {"signature_name", "instances", "inputs"})
        if unknown:
            raise RequestError(
                400, f"Unknown key(s) {unknown}: a request has 'signature_name' and "
                "'instances' or 'inputs'"
            )
        if "instances" in request:
            tensors = self._rows(request["instances"], specs)
        elif "inputs" in request:
            tensors = self._columns(request["inputs"], specs)
        else:
            raise RequestError(400, "Missing 'inputs' or 'instances' key")
        for name, (_, rank) in specs.items():
            shape = tensors[name][1]
            if rank is not None and len(shape) != rank:
                hint = (
                    " (a scalar: send it in the columnar format, \"inputs\", as the row "
                    "format gives every input a batch dimension)"
                    if rank == 0 else " (a list with one string per sentence)" if rank == 1 else ""
                )
                raise RequestError(
                    400, f"Input '{name}' must have rank {rank}{hint}; got shape {shape}"
                )
            if rank and shape and shape[0] > max_instances:
                raise RequestError(
                    400, f"Too many instances: {shape[0]} in '{name}'; this server takes at "
                    f"most {max_instances} per request (--max-instances)"
                )
        return signature, tensors, "instances" in request

    def _rows(self, instances, specs):
        if not isinstance(instances, list):
            raise RequestError(400, "Excepting 'instances' to be an list/array")
        if not instances:
            raise RequestError(400, "No values in 'instances' array")
        names = sorted(specs)
        objects = isinstance(instances[0], dict) and set(instances[0]) != {"b64"}
        if not objects:
            if len(names) > 1:
                raise RequestError(
                    400, "instances is a plain list, but expecting list of objects as multiple "
                    f"input tensors required as per tensorinfo_map ({', '.join(names)})"
                )
            return {names[0]: _tensor_value(instances, specs[names[0]][0], names[0])}
        columns = {name: [] for name in names}
        for index, instance in enumerate(instances):
            if not isinstance(instance, dict) or set(instance) != set(names):
                raise RequestError(
                    400, f"Failed to process element: {index} of 'instances' list. JSON "
                    f"object: {json.dumps(instance)[:200]} must only have keys: {','.join(names)}"
                )
            for name in names:
                columns[name].append(instance[name])
        return {name: _tensor_value(columns[name], specs[name][0], name) for name in names}

    def _columns(self, inputs, specs):
        names = sorted(specs)
        if not isinstance(inputs, dict) or set(inputs) == {"b64"}:
            if len(names) > 1:
                raise RequestError(
                    400, "inputs is a plain value/list, but expecting an object as multiple "
                    f"input tensors required as per tensorinfo_map ({', '.join(names)})"
                )
            return {names[0]: _tensor_value(inputs, specs[names[0]][0], names[0])}
        for name in names:
            if name not in inputs:
                raise RequestError(400, f"Missing named input: {name} in 'inputs' object.")
        unknown = sorted(set(inputs) - set(names))
        if unknown:
            raise RequestError(400, f"Unknown input(s) {unknown}; this signature takes {names}")
        return {name: _tensor_value(inputs[name], specs[name][0], name) for name in names}

    def predict(self, signature, tensors, row_format):
        """Runs the signature (in a worker thread); returns the response as JSON bytes."""
        tf = self._tf
        arguments = {
            name: tf.constant(values, dtype=self.inputs[signature][name][0], shape=shape)
            for name, (values, shape) in tensors.items()
        }
        try:
            outputs = self.signatures[signature](**arguments)
        except (tf.errors.InvalidArgumentError, ValueError, TypeError) as error:
            message = getattr(error, "message", None) or str(error)
            raise RequestError(400, message.strip().splitlines()[0][:1000]) from None
        values = {key: _to_json(tensor.numpy()) for key, tensor in sorted(outputs.items())}
        if not row_format:
            body = {"outputs": next(iter(values.values())) if len(values) == 1 else values}
        elif len(values) == 1:
            body = {"predictions": next(iter(values.values()))}
        else:
            count = len(next(iter(values.values())))
            body = {"predictions": [{key: value[i] for key, value in values.items()} for i in range(count)]}
        return json.dumps(body, ensure_ascii=False).encode("utf-8")


def _to_json(array):
    """A NumPy output as JSON-able lists: strings decoded as UTF-8 text."""
    if array.dtype.kind in ("O", "S"):
        flat = [
            item.decode("utf-8", errors="replace") if isinstance(item, bytes) else str(item)
            for item in array.reshape(-1).tolist()
        ]
        if array.ndim == 0:
            return flat[0]
        import numpy as np

        return np.array(flat, dtype=object).reshape(array.shape).tolist()
    return array.tolist()


class RestServer:
    """The aiohttp application around a `ServedModel`.

    Args:
        model: the `ServedModel`.
        max_request_bytes: the largest body accepted (413 above it).
        max_instances: the most sentences per request (400 above it).
        timeout: seconds a `:predict` request may take, queueing included (504 after).
        workers: threads that run the model at once.
    """

    def __init__(self, model, *, max_request_bytes, max_instances, timeout, workers):
        self.model = model
        self.max_request_bytes = max_request_bytes
        self.max_instances = max_instances
        self.timeout = timeout
        self.executor = concurrent.futures.ThreadPoolExecutor(workers, "model")

    def application(self):
        from aiohttp import web

        app = web.Application(client_max_size=self.max_request_bytes)
        app.router.add_route("*", "/{path:.*}", self.handle)
        app.on_cleanup.append(self._cleanup)
        return app

    async def _cleanup(self, app):
        # After the requests in flight (or the grace period): one still running finishes
        # in its thread, none queued starts.
        self.executor.shutdown(wait=False, cancel_futures=True)

    async def handle(self, request):
        from aiohttp import web

        try:
            status, body = 200, await self._dispatch(request)
        except RequestError as error:
            status, body = error.status, _error_body(error.message)
        except web.HTTPRequestEntityTooLarge:
            status, body = 413, _error_body(self._too_large())
        except Exception as error:  # a bug or a resource failure: an answer, not a crash
            status, body = 500, _error_body(f"{type(error).__name__}: {error}")
        return web.Response(status=status, body=body, content_type="application/json")

    def _too_large(self):
        return (
            f"Request body too large: this server takes at most {self.max_request_bytes} "
            "bytes (--max-request-mb)"
        )

    def _find(self, name, version):
        model = self.model
        if name != model.name or (version is not None and int(version) != model.version):
            spec = f"Latest({name})" if version is None else f"Specific({name}, {int(version)})"
            raise RequestError(404, f"Servable not found for request: {spec}")
        return model

    async def _dispatch(self, request):
        path, method = request.path, request.method
        if not _API_PATH.fullmatch(path):
            raise RequestError(404, f"Not found: {path} (the API is under /v1/models/)")
        predict = _PREDICT_PATH.fullmatch(path)
        status = _STATUS_PATH.fullmatch(path)
        if method == "POST" and predict:
            name, version, verb = predict.groups()
            if verb.lower() != "predict":
                raise RequestError(400, f"{verb}: this model's signatures take text; use :predict")
            return await self._predict(request, self._find(name, version))
        if method == "GET" and status:
            name, version, metadata = status.groups()
            if not name:
                raise RequestError(400, "Missing model name in request.")
            if metadata:
                return _json_bytes(self._find(name, version).metadata())
            if name != self.model.name:
                raise RequestError(404, f"Could not find any versions of model {name}")
            if version is not None and int(version) != self.model.version:
                raise RequestError(404, f"Could not find version {int(version)} of model {name}")
            return _json_bytes(self.model.status())
        raise RequestError(400, f"Malformed request: {method} {path}")

    async def _predict(self, request, model):
        if request.content_length is not None and request.content_length > self.max_request_bytes:
            raise RequestError(413, self._too_large())
        started = time.monotonic()
        body = await request.read()
        loop = asyncio.get_running_loop()
        signature, tensors, row_format = await loop.run_in_executor(
            self.executor, model.parse_predict, body, self.max_instances
        )
        remaining = self.timeout - (time.monotonic() - started)
        future = self.executor.submit(model.predict, signature, tensors, row_format)
        try:
            return await asyncio.wait_for(asyncio.wrap_future(future), max(remaining, 0.001))
        except asyncio.TimeoutError:
            future.cancel()  # a request still queued never runs; a running one is dropped
            raise RequestError(
                504, f"Deadline exceeded: the request took more than {self.timeout:g} s "
                "(--timeout)"
            ) from None


def _json_bytes(value):
    return json.dumps(value, indent=1, ensure_ascii=False).encode("utf-8")


def _error_body(message):
    return json.dumps({"error": message}, ensure_ascii=False).encode("utf-8")


def build_parser():
    parser = CommandParser(
        prog="python -m attention_layers serve",
        description="Serve an export with TensorFlow Serving's REST API "
        "(GET /v1/models/NAME, GET /v1/models/NAME/metadata, POST /v1/models/NAME:predict).",
    )
    parser.add_argument("path", metavar="RUN_OR_EXPORT",
                        help="a run folder (its serving/ is read), a serving/ base folder, "
                        "or one version's SavedModel folder")
    add_address_flags(parser, DEFAULT_PORT, "; 0 picks a free one")
    parser.add_argument("--model-name", help="the NAME in the URLs (default: the export's "
                        "kind, 'translator' or 'classifier')")
    parser.add_argument("--max-request-mb", type=float, default=DEFAULT_MAX_REQUEST_MB,
                        help=f"largest request body in MB (default {DEFAULT_MAX_REQUEST_MB}; 413 above)")
    parser.add_argument("--max-instances", type=int, default=DEFAULT_MAX_INSTANCES,
                        help=f"most sentences per request (default {DEFAULT_MAX_INSTANCES})")
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT,
                        help=f"seconds a request may take (default {DEFAULT_TIMEOUT:g}; 504 after)")
    parser.add_argument("--workers", type=int, default=DEFAULT_WORKERS,
                        help=f"requests the model runs at once (default {DEFAULT_WORKERS})")
    return parser


def _check(parser, args):
    if not 0 <= args.port <= 65535:
        parser.error(f"--port must be in [0, 65535]; received {args.port}")
    for flag in ("max_request_mb", "max_instances", "timeout", "workers"):
        if not getattr(args, flag) > 0:
            parser.error(f"--{flag.replace('_', '-')} must be positive; received {getattr(args, flag)}")
    if args.model_name is not None and not re.fullmatch(r"[^/:\s]+", args.model_name):
        parser.error(f"--model-name must not contain '/', ':' or spaces; received {args.model_name!r}")


def _model_name(path):
    """The export's kind (`translator`, `classifier`) from `assets.extra/export.json`."""
    try:
        return json.loads((path / "assets.extra" / "export.json").read_text())["kind"]
    except (OSError, ValueError, KeyError):
        return "model"


def main(argv=None):
    """Serves until SIGINT or SIGTERM; returns the exit code (2 for a bad command line)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    _check(parser, args)
    from attention_layers.export.saving import find_export

    try:
        version, path = find_export(args.path)
    except FileNotFoundError as error:
        parser.error(str(error))
    name = args.model_name or _model_name(path)
    sock = listening_socket(parser, args.host, args.port)
    print(f"Loading {path} ...", flush=True)
    model = ServedModel(path, version, name)
    model.warm_up()
    server = RestServer(
        model,
        max_request_bytes=int(args.max_request_mb * 2**20),
        max_instances=args.max_instances,
        timeout=args.timeout,
        workers=args.workers,
    )
    host, port = sock.getsockname()[:2]
    shown = url_host(host)
    print(
        f"Serving {name} version {version} ({path}) at http://{shown}:{port}/v1/models/{name} "
        f"(signatures: {', '.join(sorted(model.inputs))}); Ctrl-C stops",
        flush=True,
    )
    from aiohttp import web

    web.run_app(
        server.application(), sock=sock, print=None, handle_signals=True,
        shutdown_timeout=min(args.timeout, 10.0), access_log=None,
    )
    print("Stopped.", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
