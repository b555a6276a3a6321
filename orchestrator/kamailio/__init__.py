"""Kamailio over JSON-RPC: one thin RPC layer (``rpc``), one module per subsystem.

    from orchestrator.kamailio import KamailioRPC, core, dispatcher
    rpc = KamailioRPC(settings.rpc_url)
    core.version(rpc)          # "kamailio 5.6.3 (x86_64/linux)"
    dispatcher.reload(rpc)     # retried while Kamailio says "Ongoing reload"
"""

from orchestrator.kamailio import (
    core,
    dialplan,
    dispatcher,
    dlg,
    htable,
    mtree,
    permissions,
    pl,
    stats,
)
from orchestrator.kamailio.errors import (
    KamailioConnectionError,
    KamailioError,
    KamailioFault,
    KamailioProtocolError,
    KamailioReloadBusy,
)
from orchestrator.kamailio.rpc import KamailioRPC

__all__ = [
    "KamailioConnectionError",
    "KamailioError",
    "KamailioFault",
    "KamailioProtocolError",
    "KamailioRPC",
    "KamailioReloadBusy",
    "core",
    "dialplan",
    "dispatcher",
    "dlg",
    "htable",
    "mtree",
    "permissions",
    "pl",
    "stats",
]
