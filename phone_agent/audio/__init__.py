"""Call audio as numbers: DTMF tone generation (``tones``) and a streaming
Goertzel DTMF detector (``dtmf``).

Pure logic, no I/O: samples in and out are numpy ``int16`` arrays (or PCM16LE
bytes for the detector), 8 kHz mono unless told otherwise.
"""
