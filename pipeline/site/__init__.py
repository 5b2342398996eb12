"""``report --html DIR``: a static page of the pipelines for people who do not run commands.

``model`` gathers what the page shows from an offline plan and the promotion record, ``charts``
draws the DORA metrics as inline SVG, ``page`` writes the HTML (no script, no request leaves
the page: styles and charts are inline), ``command`` is the CLI entry.
"""
