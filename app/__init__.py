"""harness: an approval-gated research-report agent on LangGraph.

Layout, lowest first (a folder imports only from folders below it):
state.py, config.py, errors.py -> research/, models/ -> nodes/ -> graphs/ (top level) -> service/
-> cli/; store/ and safety/ are used by nodes/ and service/. `app.runs` re-exports the Python API.
"""
