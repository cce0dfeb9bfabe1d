"""Call audio: G.711 codecs, the carrier stream bridge and recordings."""
