"""Call audio as numbers: DTMF tone generation (``tones``), a streaming
Goertzel DTMF detector (``dtmf``), an echo canceller for what the phone
plays (``echo``) and the two together (``listener.KeyListener``).

Pure logic, no I/O: samples in and out are numpy ``int16`` arrays (or PCM16LE
bytes for the detector), 8 kHz mono unless told otherwise. The exceptions
sit at the edge: ``wavfile`` reads audio files and ``cli`` is the command
line (``python -m phone_agent.audio.dtmf RECORDING``).
"""
