"""The web console (`gzsync serve`): runs, charts, the ledger with retry and drop, Sync now.

- :mod:`gzsync.console.app`: the Starlette app, its routes and middleware;
- :mod:`gzsync.console.views`: what the pages show, computed from the state store;
- :mod:`gzsync.console.charts`: inline SVG charts (pure);
- :mod:`gzsync.console.actions`: ledger retry / drop (the seam to the ops layer);
- :mod:`gzsync.console.runner`: Sync now, through the run lock, with live progress;
- :mod:`gzsync.console.security`: bind rules, authentication, CSRF, headers.
"""
