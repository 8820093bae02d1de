"""Push ingestion: `segmart collect`, an HTTP receiver for webhooks and tracking batches.

Pushed events land as micro-batch files under `<landing>/<source>/<stream>/collected/`
(answered 2xx only once fsynced) and load into the same `raw.<source>__<stream>` tables
as the pulls (`load_collected`), each delivery once. Which streams take pushes, and
how their senders sign, is the `push:` section of the source's YAML (extract/push.py).
"""

from collect.load import CollectedLoad, load_collected

__all__ = ["CollectedLoad", "load_collected"]
