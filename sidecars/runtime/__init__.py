"""The runtime every helper stands on: settings, logging, admin server, lifecycle, discovery."""
