"""Control plane of a wholesale VoIP switch on Kamailio and rtpengine."""

__version__ = "0.1.0"
