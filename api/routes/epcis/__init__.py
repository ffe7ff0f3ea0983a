"""GS1 EPCIS 2.0 REST bindings, with ``/api/v1/epcis`` as the EPCIS root: the top-level
resources (``discovery``), capture (``capture``), queries and single events (``queries``),
and saved queries with their webhook subscriptions (``saved_queries``, a blueprint of its
own).

Every answer under the root carries the versions the registry speaks (GS1-EPCIS-Version,
GS1-CBV-Version) and its extension prefix (GS1-Extensions); ``OPTIONS`` on any resource
answers 204 with Allow and those headers, and on ``/capture`` the capture limits and error
behaviours too. Problems keep their stable ``code``; their ``type`` is the binding's
``epcisException:...`` (``api.errors``).
"""

from api.routes.epcis import capture, discovery, queries, saved_queries
from api.routes.epcis.common import bp

__all__ = ["bp", "capture", "discovery", "queries", "saved_queries"]
