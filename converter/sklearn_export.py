"""Write a fitted ``PMMLPipeline`` to a PMML file with sklearn2pmml, without phoning home.

sklearn2pmml pickles the pipeline and runs ``java com.sklearn2pmml.Main`` on it. In
sklearn2pmml 0.133.1 that JVM reports every failed conversion to its vendor: ``Main.main``
catches the exception (any ``Exception`` except ``FileNotFoundException``), builds an
``org.jpmml.telemetry.Incident`` holding the full exception and stack trace plus the
execution environment (Java vendor and version, Python version and the versions of about
25 Python packages, which the Python side passes in the ``SKLEARN2PMML_ENVIRONMENT``
variable) and POSTs it as JSON to ``https://telemetry.jpmml.org/v1/incidents`` through
``org.jpmml.telemetry.TelemetryClient`` (``telemetry-client-1.0.3.jar``), which uses
``java.net.http.HttpClient.newHttpClient()``. Successful conversions send nothing.

There is no switch to turn this off: the report is unconditional in the bytecode, and
neither the Python package nor ``Main`` reads any option, environment variable or system
property that disables it (the only variable read is ``SKLEARN2PMML_ENVIRONMENT``, which
the Python side always overwrites).

What this module blocks, and how: unless ``allow_phone_home=True``, the JVM is started with
the options in ``NO_PHONE_HOME_JAVA_OPTS`` (sklearn2pmml's ``java_opts`` parameter):

* ``http.proxyHost``/``https.proxyHost`` = 127.0.0.1 with ``http.proxyPort``/
  ``https.proxyPort`` = 9 (the old "discard" port, which nothing listens on nowadays).
  ``HttpClient.newHttpClient()`` uses the default ``ProxySelector``, which honours these
  properties, so the report goes to a proxy that refuses the connection; the JVM swallows
  the ``IOException`` and exits with -1 as it would anyway. Nothing reaches the vendor.
* ``socksProxyHost``/``socksProxyPort`` = the same address, so plain ``java.net.Socket``
  connections (which ignore the HTTP proxy properties) are refused as well.
* ``java.net.useSystemProxies=false``, so operating-system proxy settings cannot replace
  the dead proxy.

Checked with Java 17: pointed at a listening socket instead, the JVM sends it
``CONNECT telemetry.jpmml.org:443``; with port 9, strace of a failed conversion shows
no outbound ``connect`` other than to 127.0.0.1:9, refused (the proxy is given the host
name, so there is no DNS lookup either). Not covered: this is not a network-level block
(use a firewall or sandbox for that); code that reset these properties at run time would
escape it (sklearn2pmml 0.133.1 has none); and if something did accept connections on
127.0.0.1:9 the report would be sent to it, and a failed conversion could hang waiting for
its answer. The conversion itself needs no network at all.

A failed conversion raises :class:`ConversionError` carrying the converter's own explanation
(its EXCEPTION section, Java class names removed) or, when it printed none, the tail of its output.
"""

import contextlib
import io
import logging
import re

from sklearn2pmml import sklearn2pmml

from pmmlkit.scoring.errors import ConversionError

__all__ = ["NO_PHONE_HOME_JAVA_OPTS", "ConversionError", "export_pmml"]

_log = logging.getLogger(__name__)

DEAD_PROXY_HOST = "127.0.0.1"
DEAD_PROXY_PORT = 9
NO_PHONE_HOME_JAVA_OPTS = (
    f"-Dhttp.proxyHost={DEAD_PROXY_HOST}",
    f"-Dhttp.proxyPort={DEAD_PROXY_PORT}",
    f"-Dhttps.proxyHost={DEAD_PROXY_HOST}",
    f"-Dhttps.proxyPort={DEAD_PROXY_PORT}",
    f"-DsocksProxyHost={DEAD_PROXY_HOST}",
    f"-DsocksProxyPort={DEAD_PROXY_PORT}",
    "-Djava.net.useSystemProxies=false",
)
VERIFICATION_PRECISION = 1e-13
OUTPUT_TAIL_LINES = 20
_JAVA_CLASS_PREFIX = re.compile(r"^(?:[a-z_][\w]*\.)+[A-Z]\w*(?:Exception|Error): ")


def export_pmml(
    pipeline,
    pmml_path,
    *,
    verification_frame=None,
    tolerance=VERIFICATION_PRECISION,
    allow_phone_home=False,
) -> None:
    """Convert the fitted ``PMMLPipeline`` to PMML at ``pmml_path``.

    ``verification_frame`` rows are embedded, with scikit-learn's predictions for them, as
    ModelVerification records checked to ``tolerance`` (relative, and absolute near zero) at every
    load (without it, an earlier ``pipeline.verify`` is kept).
    """
    if verification_frame is not None:
        pipeline.verify(
            verification_frame,
            precision=tolerance,
            zeroThreshold=tolerance,
        )
    java_opts = None if allow_phone_home else list(NO_PHONE_HOME_JAVA_OPTS)
    _run_converter(pipeline, str(pmml_path), java_opts)


def _run_converter(pipeline, pmml_path, java_opts):
    output = io.StringIO()
    try:
        with contextlib.redirect_stdout(output):
            sklearn2pmml(pipeline, pmml_path, java_opts=java_opts)
    except RuntimeError as exc:
        raise ConversionError(_failure_message(exc, output.getvalue())) from exc
    _log.debug("sklearn2pmml output:\n%s", output.getvalue())


def _failure_message(exc, output):
    """The converter's own explanation (its EXCEPTION section, without Java class names or stack
    frames), else the tail of what it printed."""
    text = f"{exc}\n{output}"
    reason = _exception_section(text.splitlines())
    if reason:
        return f"sklearn2pmml cannot convert this pipeline: {reason}"
    lines = text.rstrip().splitlines()[-OUTPUT_TAIL_LINES:]
    return f"sklearn2pmml failed. Last {len(lines)} lines of converter output:\n" + "\n".join(lines)


def _exception_section(lines):
    """Lines between the EXCEPTION banner and 'Stack trace:', joined into one message."""
    try:
        start = next(i for i, line in enumerate(lines) if line.strip() == "EXCEPTION") + 2
    except StopIteration:
        return None
    sentences = []
    for line in lines[start:]:
        if line.startswith("Stack trace:"):
            break
        text = _JAVA_CLASS_PREFIX.sub("", line.strip())
        if sentences and sentences[-1].endswith(":"):  # "Solution:" heads the next line
            sentences[-1] += " " + text
        elif text:
            sentences.append(text)
    return ". ".join(s.rstrip(".") for s in sentences) + "." if sentences else None
