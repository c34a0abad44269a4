"""pmmlkit: scikit-learn pipelines to PMML, served over HTTP and embedded in the JVM.

The code lives in two packages mapped under this name by pyproject.toml:
``pmmlkit.scoring`` (directory ``scoring/``: store, engine bridge, service) and
``pmmlkit.converter`` (directory ``converter/``: sklearn pipeline to PMML).
"""

__version__ = "0.1.0"
