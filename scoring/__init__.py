"""Serving side: the model store, the JVM engine bridge and the settings. Never imports sklearn."""
