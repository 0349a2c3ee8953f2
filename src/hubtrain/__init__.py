"""hubtrain: build, host and grade an onboarding course for cloud JupyterHubs."""

__version__ = "0.1.0"
