"""What the operator's commands compute, apart from printing.

- :mod:`gzsync.ops.check`: Zoho's field metadata against our mappings (pure), and the
  reachability and credential probes of `gzsync check`;
- :mod:`gzsync.ops.schedule`: the fixed-rate loop of `gzsync schedule`;
- :mod:`gzsync.ops.html_report`: the self-contained HTML page of `gzsync report`.
"""
