"""Controllers: own the state and the worker threads; panels only show and forward."""
