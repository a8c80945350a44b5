# mobilears.Play: "play FILE [--volume 0..100] [--stream voice_call|music]".
# Prints "playing <ms>", plays the WAV's PCM through an AudioTrack in
# streaming mode on the chosen stream with the speakerphone on (Speaker),
# prints "done" when the last sample has played, and stops early, without
# "done", when stdin closes. A problem with the speakerphone or the volume
# is reported as a line "warning: ..." before "playing" and the file plays
# anyway. Defaults: the in-call voice stream (STREAM_VOICE_CALL, 0), volume
# left as it is. --stream music is STREAM_MUSIC (3).
#
#   final class Play {
#       static int run(String[] args) throws Exception;
#       static String value(String[] args, int i, String option);
#       static int percent(String s);
#       static int stream(String s);
#       static int play(String file, int stream, int volume) throws Exception;
#       static boolean feed(AudioTrack track, String file, Wav wav, int pad, Watch watch) throws IOException;
#       static void write(AudioTrack track, byte[] buf, int n);
#       static boolean drain(AudioTrack track, int frames, int ms, Watch watch);
#   }

.class final Lmobilears/Play;
.super Ljava/lang/Object;
.source "Play.smali"


# static int run(String[] args) throws Exception {
#     String file = null; int volume = -1; int stream = 0;   // STREAM_VOICE_CALL
#     for (int i = 1; i < args.length; i++) {
#         String a = args[i];
#         if (a.equals("--volume")) { i++; volume = percent(value(args, i, a)); }
#         else if (a.equals("--stream")) { i++; stream = stream(value(args, i, a)); }
#         else if (file == null) file = a;
#         else throw new IllegalArgumentException("unexpected argument: " + a);
#     }
#     if (file == null) throw new IllegalArgumentException("play needs a FILE");
#     return play(file, stream, volume);
# }
.method static run([Ljava/lang/String;)I
    .locals 7
    # v0 file, v1 volume, v2 stream, v3 i, v4 a, v5-v6 scratch
    const/4 v0, 0x0
    const/4 v1, -0x1
    const/4 v2, 0x0
    const/4 v3, 0x1

    :loop
    array-length v5, p0
    if-ge v3, v5, :end
    aget-object v4, p0, v3

    const-string v5, "--volume"
    invoke-virtual {v5, v4}, Ljava/lang/String;->equals(Ljava/lang/Object;)Z
    move-result v5
    if-eqz v5, :not_volume
    add-int/lit8 v3, v3, 0x1
    invoke-static {p0, v3, v4}, Lmobilears/Play;->value([Ljava/lang/String;ILjava/lang/String;)Ljava/lang/String;
    move-result-object v5
    invoke-static {v5}, Lmobilears/Play;->percent(Ljava/lang/String;)I
    move-result v1
    goto :next

    :not_volume
    const-string v5, "--stream"
    invoke-virtual {v5, v4}, Ljava/lang/String;->equals(Ljava/lang/Object;)Z
    move-result v5
    if-eqz v5, :not_stream
    add-int/lit8 v3, v3, 0x1
    invoke-static {p0, v3, v4}, Lmobilears/Play;->value([Ljava/lang/String;ILjava/lang/String;)Ljava/lang/String;
    move-result-object v5
    invoke-static {v5}, Lmobilears/Play;->stream(Ljava/lang/String;)I
    move-result v2
    goto :next

    :not_stream
    if-nez v0, :unexpected
    move-object v0, v4
    goto :next

    :unexpected
    const-string v5, "unexpected argument: "
    invoke-static {v5, v4}, Lmobilears/Play;->wrong(Ljava/lang/String;Ljava/lang/String;)Ljava/lang/IllegalArgumentException;
    move-result-object v5
    throw v5

    :next
    add-int/lit8 v3, v3, 0x1
    goto :loop

    :end
    if-nez v0, :play
    new-instance v5, Ljava/lang/IllegalArgumentException;
    const-string v6, "play needs a FILE"
    invoke-direct {v5, v6}, Ljava/lang/IllegalArgumentException;-><init>(Ljava/lang/String;)V
    throw v5

    :play
    invoke-static {v0, v2, v1}, Lmobilears/Play;->play(Ljava/lang/String;II)I
    move-result v5
    return v5
.end method


# static IllegalArgumentException wrong(String what, String s) {
#     return new IllegalArgumentException(what + s);
# }
.method static wrong(Ljava/lang/String;Ljava/lang/String;)Ljava/lang/IllegalArgumentException;
    .locals 2
    new-instance v0, Ljava/lang/StringBuilder;
    invoke-direct {v0, p0}, Ljava/lang/StringBuilder;-><init>(Ljava/lang/String;)V
    invoke-virtual {v0, p1}, Ljava/lang/StringBuilder;->append(Ljava/lang/String;)Ljava/lang/StringBuilder;
    invoke-virtual {v0}, Ljava/lang/StringBuilder;->toString()Ljava/lang/String;
    move-result-object v0
    new-instance v1, Ljava/lang/IllegalArgumentException;
    invoke-direct {v1, v0}, Ljava/lang/IllegalArgumentException;-><init>(Ljava/lang/String;)V
    return-object v1
.end method


# static String value(String[] args, int i, String option) {
#     if (i >= args.length) throw wrong(option, " needs a value");
#     return args[i];
# }
.method static value([Ljava/lang/String;ILjava/lang/String;)Ljava/lang/String;
    .locals 2
    array-length v0, p0
    if-lt p1, v0, :present
    const-string v1, " needs a value"
    invoke-static {p2, v1}, Lmobilears/Play;->wrong(Ljava/lang/String;Ljava/lang/String;)Ljava/lang/IllegalArgumentException;
    move-result-object v1
    throw v1
    :present
    aget-object v1, p0, p1
    return-object v1
.end method


# static int percent(String s) {
#     int v;
#     try { v = Integer.parseInt(s); } catch (NumberFormatException e) { v = -1; }
#     if (v < 0 || v > 100) throw wrong("--volume must be 0..100, not ", s);
#     return v;
# }
.method static percent(Ljava/lang/String;)I
    .locals 2
    :try_start
    invoke-static {p0}, Ljava/lang/Integer;->parseInt(Ljava/lang/String;)I
    move-result v0
    :try_end
    .catch Ljava/lang/NumberFormatException; {:try_start .. :try_end} :not_number
    goto :check
    :not_number
    const/4 v0, -0x1
    :check
    if-ltz v0, :bad
    const/16 v1, 0x64
    if-gt v0, v1, :bad
    return v0
    :bad
    const-string v1, "--volume must be 0..100, not "
    invoke-static {v1, p0}, Lmobilears/Play;->wrong(Ljava/lang/String;Ljava/lang/String;)Ljava/lang/IllegalArgumentException;
    move-result-object v1
    throw v1
.end method


# static int stream(String s) {
#     if (s.equals("voice_call")) return 0;   // AudioManager.STREAM_VOICE_CALL
#     if (s.equals("music")) return 3;        // AudioManager.STREAM_MUSIC
#     throw wrong("--stream must be voice_call or music, not ", s);
# }
.method static stream(Ljava/lang/String;)I
    .locals 2
    const-string v0, "voice_call"
    invoke-virtual {v0, p0}, Ljava/lang/String;->equals(Ljava/lang/Object;)Z
    move-result v0
    if-eqz v0, :not_voice
    const/4 v1, 0x0
    return v1
    :not_voice
    const-string v0, "music"
    invoke-virtual {v0, p0}, Ljava/lang/String;->equals(Ljava/lang/Object;)Z
    move-result v0
    if-eqz v0, :bad
    const/4 v1, 0x3
    return v1
    :bad
    const-string v1, "--stream must be voice_call or music, not "
    invoke-static {v1, p0}, Lmobilears/Play;->wrong(Ljava/lang/String;Ljava/lang/String;)Ljava/lang/IllegalArgumentException;
    move-result-object v1
    throw v1
.end method


# static int play(String file, int stream, int volume) throws Exception {
#     Wav wav = Wav.read(file);
#     Shell.prepare();
#     String problem = Speaker.on(stream, volume);
#     if (problem != null) Report.line("warning: " + problem);
#     int mask = wav.channels == 1 ? 4 : 12;            // CHANNEL_OUT_MONO : CHANNEL_OUT_STEREO
#     int min = AudioTrack.getMinBufferSize(wav.rate, mask, 2);   // ENCODING_PCM_16BIT
#     if (min <= 0) throw new IllegalStateException("the phone cannot play " + wav.rate + " Hz 16-bit PCM");
#     int size = min * 4;
#     AudioTrack track = new AudioTrack(stream, wav.rate, mask, 2, size, 1);   // MODE_STREAM
#     if (track.getState() != 1) {                      // STATE_INITIALIZED
#         track.release();
#         throw new IllegalStateException("the phone refused to open an AudioTrack");
#     }
#     int frames = wav.length / (2 * wav.channels);
#     int ms = frames / wav.rate * 1000 + frames % wav.rate * 1000 / wav.rate;
#     Watch watch = Watch.begin();
#     Report.line("playing " + ms);
#     track.play();
#     boolean whole = feed(track, file, wav, size, watch) && drain(track, frames, ms, watch);
#     track.pause(); track.flush(); track.release();
#     if (whole) Report.line("done");
#     return 0;
# }
.method static play(Ljava/lang/String;II)I
    .locals 13
    # v0 wav, v1 mask, v2 rate, v3 size, v4 track, v5 frames, v6 ms, v7 watch,
    # v8-v12 scratch (v7-v12 also the AudioTrack constructor's range)
    invoke-static {p0}, Lmobilears/Wav;->read(Ljava/lang/String;)Lmobilears/Wav;
    move-result-object v0
    invoke-static {}, Lmobilears/Shell;->prepare()V
    invoke-static {p1, p2}, Lmobilears/Speaker;->on(II)Ljava/lang/String;
    move-result-object v8
    if-eqz v8, :no_problem
    new-instance v9, Ljava/lang/StringBuilder;
    const-string v10, "warning: "
    invoke-direct {v9, v10}, Ljava/lang/StringBuilder;-><init>(Ljava/lang/String;)V
    invoke-virtual {v9, v8}, Ljava/lang/StringBuilder;->append(Ljava/lang/String;)Ljava/lang/StringBuilder;
    invoke-virtual {v9}, Ljava/lang/StringBuilder;->toString()Ljava/lang/String;
    move-result-object v9
    invoke-static {v9}, Lmobilears/Report;->line(Ljava/lang/String;)V

    :no_problem
    iget v2, v0, Lmobilears/Wav;->rate:I
    iget v8, v0, Lmobilears/Wav;->channels:I
    const/4 v1, 0x4
    const/4 v9, 0x1
    if-eq v8, v9, :mono
    const/16 v1, 0xc
    :mono
    const/4 v9, 0x2
    invoke-static {v2, v1, v9}, Landroid/media/AudioTrack;->getMinBufferSize(III)I
    move-result v3
    if-gtz v3, :can_play
    new-instance v9, Ljava/lang/StringBuilder;
    const-string v10, "the phone cannot play "
    invoke-direct {v9, v10}, Ljava/lang/StringBuilder;-><init>(Ljava/lang/String;)V
    invoke-virtual {v9, v2}, Ljava/lang/StringBuilder;->append(I)Ljava/lang/StringBuilder;
    const-string v10, " Hz 16-bit PCM"
    invoke-virtual {v9, v10}, Ljava/lang/StringBuilder;->append(Ljava/lang/String;)Ljava/lang/StringBuilder;
    invoke-virtual {v9}, Ljava/lang/StringBuilder;->toString()Ljava/lang/String;
    move-result-object v9
    new-instance v10, Ljava/lang/IllegalStateException;
    invoke-direct {v10, v9}, Ljava/lang/IllegalStateException;-><init>(Ljava/lang/String;)V
    throw v10

    :can_play
    mul-int/lit8 v3, v3, 0x4
    # new AudioTrack(stream, rate, mask, ENCODING_PCM_16BIT, size, MODE_STREAM):
    # seven registers, so a range v6..v12 (track, stream, rate, mask, encoding, size, mode)
    new-instance v6, Landroid/media/AudioTrack;
    move v7, p1
    move v8, v2
    move v9, v1
    const/4 v10, 0x2
    move v11, v3
    const/4 v12, 0x1
    invoke-direct/range {v6 .. v12}, Landroid/media/AudioTrack;-><init>(IIIIII)V
    move-object v4, v6
    invoke-virtual {v4}, Landroid/media/AudioTrack;->getState()I
    move-result v8
    const/4 v9, 0x1
    if-eq v8, v9, :opened
    invoke-virtual {v4}, Landroid/media/AudioTrack;->release()V
    new-instance v9, Ljava/lang/IllegalStateException;
    const-string v10, "the phone refused to open an AudioTrack"
    invoke-direct {v9, v10}, Ljava/lang/IllegalStateException;-><init>(Ljava/lang/String;)V
    throw v9

    :opened
    # frames = length / (2 * channels); ms = frames / rate * 1000 + frames % rate * 1000 / rate
    iget v5, v0, Lmobilears/Wav;->length:I
    iget v8, v0, Lmobilears/Wav;->channels:I
    add-int/2addr v8, v8
    div-int/2addr v5, v8
    div-int v6, v5, v2
    mul-int/lit16 v6, v6, 0x3e8
    rem-int v8, v5, v2
    mul-int/lit16 v8, v8, 0x3e8
    div-int/2addr v8, v2
    add-int/2addr v6, v8

    invoke-static {}, Lmobilears/Watch;->begin()Lmobilears/Watch;
    move-result-object v7
    new-instance v8, Ljava/lang/StringBuilder;
    const-string v9, "playing "
    invoke-direct {v8, v9}, Ljava/lang/StringBuilder;-><init>(Ljava/lang/String;)V
    invoke-virtual {v8, v6}, Ljava/lang/StringBuilder;->append(I)Ljava/lang/StringBuilder;
    invoke-virtual {v8}, Ljava/lang/StringBuilder;->toString()Ljava/lang/String;
    move-result-object v8
    invoke-static {v8}, Lmobilears/Report;->line(Ljava/lang/String;)V
    invoke-virtual {v4}, Landroid/media/AudioTrack;->play()V

    move-object v8, v4
    move-object v9, p0
    move-object v10, v0
    move v11, v3
    move-object v12, v7
    invoke-static/range {v8 .. v12}, Lmobilears/Play;->feed(Landroid/media/AudioTrack;Ljava/lang/String;Lmobilears/Wav;ILmobilears/Watch;)Z
    move-result v8
    if-eqz v8, :finish
    invoke-static {v4, v5, v6, v7}, Lmobilears/Play;->drain(Landroid/media/AudioTrack;IILmobilears/Watch;)Z
    move-result v8

    :finish
    invoke-virtual {v4}, Landroid/media/AudioTrack;->pause()V
    invoke-virtual {v4}, Landroid/media/AudioTrack;->flush()V
    invoke-virtual {v4}, Landroid/media/AudioTrack;->release()V
    if-eqz v8, :stopped
    const-string v9, "done"
    invoke-static {v9}, Lmobilears/Report;->line(Ljava/lang/String;)V
    :stopped
    const/4 v9, 0x0
    return v9
.end method


# static boolean feed(AudioTrack track, String file, Wav wav, int pad, Watch watch) throws IOException {
#     RandomAccessFile in = new RandomAccessFile(file, "r");
#     try {
#         in.seek(wav.offset);
#         byte[] buf = new byte[4096];
#         int left = wav.length;
#         while (left > 0) {
#             if (watch.closed) return false;
#             int n = in.read(buf, 0, Math.min(4096, left));
#             if (n <= 0) break;
#             write(track, buf, n);
#             left -= n;
#         }
#     } finally {
#         in.close();
#     }
#     // A streaming AudioTrack starts once its buffer is full: a buffer of
#     // silence after the end pushes the last of the announcement through.
#     write(track, new byte[pad], pad);
#     return true;
# }
.method static feed(Landroid/media/AudioTrack;Ljava/lang/String;Lmobilears/Wav;ILmobilears/Watch;)Z
    .locals 7
    # v0 in, v1 buf, v2 left, v3 n, v4-v6 scratch
    new-instance v0, Ljava/io/RandomAccessFile;
    const-string v4, "r"
    invoke-direct {v0, p1, v4}, Ljava/io/RandomAccessFile;-><init>(Ljava/lang/String;Ljava/lang/String;)V

    :try_start
    iget v4, p2, Lmobilears/Wav;->offset:I
    int-to-long v4, v4
    invoke-virtual {v0, v4, v5}, Ljava/io/RandomAccessFile;->seek(J)V
    const/16 v4, 0x1000
    new-array v1, v4, [B
    iget v2, p2, Lmobilears/Wav;->length:I

    :loop
    if-lez v2, :fed
    iget-boolean v4, p4, Lmobilears/Watch;->closed:Z
    if-nez v4, :closed
    const/16 v4, 0x1000
    invoke-static {v4, v2}, Ljava/lang/Math;->min(II)I
    move-result v4
    const/4 v5, 0x0
    invoke-virtual {v0, v1, v5, v4}, Ljava/io/RandomAccessFile;->read([BII)I
    move-result v3
    if-lez v3, :fed
    invoke-static {p0, v1, v3}, Lmobilears/Play;->write(Landroid/media/AudioTrack;[BI)V
    sub-int/2addr v2, v3
    goto :loop
    :try_end
    .catchall {:try_start .. :try_end} :failed

    :fed
    invoke-virtual {v0}, Ljava/io/RandomAccessFile;->close()V
    new-array v1, p3, [B
    invoke-static {p0, v1, p3}, Lmobilears/Play;->write(Landroid/media/AudioTrack;[BI)V
    const/4 v4, 0x1
    return v4

    :closed
    invoke-virtual {v0}, Ljava/io/RandomAccessFile;->close()V
    const/4 v4, 0x0
    return v4

    :failed
    move-exception v6
    invoke-virtual {v0}, Ljava/io/RandomAccessFile;->close()V
    throw v6
.end method


# static void write(AudioTrack track, byte[] buf, int n) {
#     int off = 0;
#     while (off < n) {
#         int w = track.write(buf, off, n - off);      // blocks until there is room
#         if (w < 0) throw new IllegalStateException("AudioTrack.write failed (" + w + ")");
#         off += w;
#     }
# }
.method static write(Landroid/media/AudioTrack;[BI)V
    .locals 4
    const/4 v0, 0x0
    :loop
    if-lt v0, p2, :more
    return-void
    :more
    sub-int v1, p2, v0
    invoke-virtual {p0, p1, v0, v1}, Landroid/media/AudioTrack;->write([BII)I
    move-result v1
    if-ltz v1, :failed
    add-int/2addr v0, v1
    goto :loop
    :failed
    new-instance v2, Ljava/lang/StringBuilder;
    const-string v3, "AudioTrack.write failed ("
    invoke-direct {v2, v3}, Ljava/lang/StringBuilder;-><init>(Ljava/lang/String;)V
    invoke-virtual {v2, v1}, Ljava/lang/StringBuilder;->append(I)Ljava/lang/StringBuilder;
    const-string v3, ")"
    invoke-virtual {v2, v3}, Ljava/lang/StringBuilder;->append(Ljava/lang/String;)Ljava/lang/StringBuilder;
    invoke-virtual {v2}, Ljava/lang/StringBuilder;->toString()Ljava/lang/String;
    move-result-object v2
    new-instance v3, Ljava/lang/IllegalStateException;
    invoke-direct {v3, v2}, Ljava/lang/IllegalStateException;-><init>(Ljava/lang/String;)V
    throw v3
.end method


# static boolean drain(AudioTrack track, int frames, int ms, Watch watch) {
#     long deadline = SystemClock.uptimeMillis() + ms + 5000;
#     while (true) {
#         if (watch.closed) return false;                            // stopped
#         if (track.getPlaybackHeadPosition() >= frames) return true; // the last sample played
#         if (SystemClock.uptimeMillis() > deadline) return true;      // the head stalled: end anyway
#         SystemClock.sleep(20);
#     }
# }
.method static drain(Landroid/media/AudioTrack;IILmobilears/Watch;)Z
    .locals 6
    # v0-v1 deadline, v2-v3 now, v4-v5 scratch
    invoke-static {}, Landroid/os/SystemClock;->uptimeMillis()J
    move-result-wide v0
    add-int/lit16 v4, p2, 0x1388
    int-to-long v4, v4
    add-long/2addr v0, v4

    :loop
    iget-boolean v4, p3, Lmobilears/Watch;->closed:Z
    if-eqz v4, :open
    const/4 v4, 0x0
    return v4
    :open
    invoke-virtual {p0}, Landroid/media/AudioTrack;->getPlaybackHeadPosition()I
    move-result v4
    if-ge v4, p1, :played
    invoke-static {}, Landroid/os/SystemClock;->uptimeMillis()J
    move-result-wide v2
    cmp-long v4, v2, v0
    if-gtz v4, :played
    const-wide/16 v4, 0x14
    invoke-static {v4, v5}, Landroid/os/SystemClock;->sleep(J)V
    goto :loop
    :played
    const/4 v4, 0x1
    return v4
.end method
