"""Live calls: the calls the switch carries now, from Kamailio's dialogs and rtpengine,
and hanging one up (docs/live-calls.md). ``service`` is what the interfaces call."""
