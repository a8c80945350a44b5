# mobilears.Record: "record RATE". Streams the microphone (AudioRecord,
# source MIC, mono, 16-bit) as raw PCM16LE on stdout until stdin closes, in
# reads of 100 ms. The speakerphone is turned on first, so the voter's key
# tones come out of the loudspeaker where the microphone hears them; a
# failure there is only logged (logcat, tag mobile-ars-audio): stdout is PCM.
# What cannot start prints "Error: ..." instead of any PCM.
#
#   final class Record {
#       static int run(String[] args) throws Exception;
#   }

.class final Lmobilears/Record;
.super Ljava/lang/Object;
.source "Record.smali"


# static int run(String[] args) throws Exception {
#     int rate = 0;
#     if (args.length == 2) {
#         try { rate = Integer.parseInt(args[1]); } catch (NumberFormatException e) { }
#     }
#     if (rate < 8000 || rate > 48000) throw new IllegalArgumentException("record needs RATE, 8000..48000");
#     Shell.prepare();
#     String problem = Speaker.on(0, -1);                 // STREAM_VOICE_CALL, volume untouched
#     if (problem != null) Report.warn(problem);
#     int min = AudioRecord.getMinBufferSize(rate, 16, 2); // CHANNEL_IN_MONO, ENCODING_PCM_16BIT
#     if (min <= 0) throw new IllegalStateException("the microphone cannot record at " + rate + " Hz");
#     AudioRecord rec = new AudioRecord(1, rate, 16, 2, min * 4);   // MediaRecorder.AudioSource.MIC
#     if (rec.getState() != 1) {                         // STATE_INITIALIZED
#         rec.release();
#         throw new IllegalStateException("the microphone could not be opened (Android 10 does not "
#             + "let the shell record; Android 11 only while the screen is unlocked)");
#     }
#     rec.startRecording();
#     if (rec.getRecordingState() != 3) {                // RECORDSTATE_RECORDING
#         rec.release();
#         throw new IllegalStateException("the microphone did not start recording (Android refused the shell, or another app holds it)");
#     }
#     Watch watch = Watch.begin();
#     FileOutputStream out = new FileOutputStream(FileDescriptor.out);
#     byte[] buf = new byte[rate / 10 * 2];
#     try {
#         while (!watch.closed) {
#             int n = rec.read(buf, 0, buf.length);
#             if (n < 0) break;                          // the recording failed: the stream ends
#             out.write(buf, 0, n);
#         }
#     } catch (IOException e) {                          // the backend closed the stream
#     }
#     rec.stop();
#     rec.release();
#     return 0;
# }
.method static run([Ljava/lang/String;)I
    .locals 10
    # v0 rate, v1 rec, v2 watch, v3 out, v4 buf, v5-v9 scratch
    const/4 v0, 0x0
    array-length v5, p0
    const/4 v6, 0x2
    if-ne v5, v6, :check
    :try_start_parse
    const/4 v5, 0x1
    aget-object v5, p0, v5
    invoke-static {v5}, Ljava/lang/Integer;->parseInt(Ljava/lang/String;)I
    move-result v0
    :try_end_parse
    .catch Ljava/lang/NumberFormatException; {:try_start_parse .. :try_end_parse} :not_number
    goto :check
    :not_number
    const/4 v0, 0x0

    :check
    const/16 v5, 0x1f40
    if-lt v0, v5, :bad_rate
    const v5, 0xbb80
    if-gt v0, v5, :bad_rate
    goto :rate_ok
    :bad_rate
    new-instance v5, Ljava/lang/IllegalArgumentException;
    const-string v6, "record needs RATE, 8000..48000"
    invoke-direct {v5, v6}, Ljava/lang/IllegalArgumentException;-><init>(Ljava/lang/String;)V
    throw v5

    :rate_ok
    invoke-static {}, Lmobilears/Shell;->prepare()V
    const/4 v5, 0x0
    const/4 v6, -0x1
    invoke-static {v5, v6}, Lmobilears/Speaker;->on(II)Ljava/lang/String;
    move-result-object v5
    if-eqz v5, :speaker_ok
    invoke-static {v5}, Lmobilears/Report;->warn(Ljava/lang/String;)V
    :speaker_ok

    const/16 v5, 0x10
    const/4 v6, 0x2
    invoke-static {v0, v5, v6}, Landroid/media/AudioRecord;->getMinBufferSize(III)I
    move-result v9
    if-gtz v9, :can_record
    new-instance v5, Ljava/lang/StringBuilder;
    const-string v6, "the microphone cannot record at "
    invoke-direct {v5, v6}, Ljava/lang/StringBuilder;-><init>(Ljava/lang/String;)V
    invoke-virtual {v5, v0}, Ljava/lang/StringBuilder;->append(I)Ljava/lang/StringBuilder;
    const-string v6, " Hz"
    invoke-virtual {v5, v6}, Ljava/lang/StringBuilder;->append(Ljava/lang/String;)Ljava/lang/StringBuilder;
    invoke-virtual {v5}, Ljava/lang/StringBuilder;->toString()Ljava/lang/String;
    move-result-object v5
    new-instance v6, Ljava/lang/IllegalStateException;
    invoke-direct {v6, v5}, Ljava/lang/IllegalStateException;-><init>(Ljava/lang/String;)V
    throw v6

    :can_record
    # new AudioRecord(MIC, rate, CHANNEL_IN_MONO, ENCODING_PCM_16BIT, min * 4): range v4..v9
    mul-int/lit8 v9, v9, 0x4
    new-instance v4, Landroid/media/AudioRecord;
    const/4 v5, 0x1
    move v6, v0
    const/16 v7, 0x10
    const/4 v8, 0x2
    invoke-direct/range {v4 .. v9}, Landroid/media/AudioRecord;-><init>(IIIII)V
    move-object v1, v4

    invoke-virtual {v1}, Landroid/media/AudioRecord;->getState()I
    move-result v5
    const/4 v6, 0x1
    if-eq v5, v6, :opened
    invoke-virtual {v1}, Landroid/media/AudioRecord;->release()V
    new-instance v5, Ljava/lang/IllegalStateException;
    const-string v6, "the microphone could not be opened (Android 10 does not let the shell record; Android 11 only while the screen is unlocked)"
    invoke-direct {v5, v6}, Ljava/lang/IllegalStateException;-><init>(Ljava/lang/String;)V
    throw v5

    :opened
    invoke-virtual {v1}, Landroid/media/AudioRecord;->startRecording()V
    invoke-virtual {v1}, Landroid/media/AudioRecord;->getRecordingState()I
    move-result v5
    const/4 v6, 0x3
    if-eq v5, v6, :recording
    invoke-virtual {v1}, Landroid/media/AudioRecord;->release()V
    new-instance v5, Ljava/lang/IllegalStateException;
    const-string v6, "the microphone did not start recording (Android refused the shell, or another app holds it)"
    invoke-direct {v5, v6}, Ljava/lang/IllegalStateException;-><init>(Ljava/lang/String;)V
    throw v5

    :recording
    invoke-static {}, Lmobilears/Watch;->begin()Lmobilears/Watch;
    move-result-object v2
    new-instance v3, Ljava/io/FileOutputStream;
    sget-object v5, Ljava/io/FileDescriptor;->out:Ljava/io/FileDescriptor;
    invoke-direct {v3, v5}, Ljava/io/FileOutputStream;-><init>(Ljava/io/FileDescriptor;)V
    div-int/lit8 v5, v0, 0xa
    add-int/2addr v5, v5
    new-array v4, v5, [B

    :try_start_stream
    :loop
    iget-boolean v5, v2, Lmobilears/Watch;->closed:Z
    if-nez v5, :end
    array-length v6, v4
    const/4 v7, 0x0
    invoke-virtual {v1, v4, v7, v6}, Landroid/media/AudioRecord;->read([BII)I
    move-result v5
    if-ltz v5, :end
    invoke-virtual {v3, v4, v7, v5}, Ljava/io/FileOutputStream;->write([BII)V
    goto :loop
    :try_end_stream
    .catch Ljava/io/IOException; {:try_start_stream .. :try_end_stream} :end

    :end
    invoke-virtual {v1}, Landroid/media/AudioRecord;->stop()V
    invoke-virtual {v1}, Landroid/media/AudioRecord;->release()V
    const/4 v5, 0x0
    return v5
.end method
