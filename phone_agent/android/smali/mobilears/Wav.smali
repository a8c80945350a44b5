# mobilears.Wav: where the PCM of a WAV file is and how to play it.
# Announcements are RIFF/WAVE files with 16-bit PCM (format tag 1), 8 kHz
# mono as the server converts them; any rate 4000..48000 Hz and mono or
# stereo are accepted. RIFF numbers are little-endian, RandomAccessFile
# reads big-endian: Integer.reverseBytes / Short.reverseBytes turn them.
#
#   final class Wav {
#       int rate;       // samples per second
#       int channels;   // 1 or 2
#       int offset;     // where the PCM starts in the file
#       int length;     // bytes of PCM (whole frames, cut to what the file holds)
#       static Wav read(String path) throws IOException;
#   }

.class final Lmobilears/Wav;
.super Ljava/lang/Object;
.source "Wav.smali"


.field rate:I
.field channels:I
.field offset:I
.field length:I


# Wav() { super(); }
.method constructor <init>()V
    .locals 0
    invoke-direct {p0}, Ljava/lang/Object;-><init>()V
    return-void
.end method


# static Wav read(String path) throws IOException {
#     RandomAccessFile f = new RandomAccessFile(path, "r");
#     try {
#         return parse(f, path);
#     } catch (EOFException e) {
#         throw new IOException(path + ": not a complete WAV file (no data chunk)");
#     } finally {
#         f.close();
#     }
# }
.method static read(Ljava/lang/String;)Lmobilears/Wav;
    .locals 4

    new-instance v0, Ljava/io/RandomAccessFile;
    const-string v1, "r"
    invoke-direct {v0, p0, v1}, Ljava/io/RandomAccessFile;-><init>(Ljava/lang/String;Ljava/lang/String;)V

    :try_start
    invoke-static {v0, p0}, Lmobilears/Wav;->parse(Ljava/io/RandomAccessFile;Ljava/lang/String;)Lmobilears/Wav;
    move-result-object v1
    :try_end
    .catch Ljava/io/EOFException; {:try_start .. :try_end} :truncated
    .catchall {:try_start .. :try_end} :closing

    invoke-virtual {v0}, Ljava/io/RandomAccessFile;->close()V
    return-object v1

    :truncated
    invoke-virtual {v0}, Ljava/io/RandomAccessFile;->close()V
    new-instance v2, Ljava/io/IOException;
    new-instance v3, Ljava/lang/StringBuilder;
    invoke-direct {v3}, Ljava/lang/StringBuilder;-><init>()V
    invoke-virtual {v3, p0}, Ljava/lang/StringBuilder;->append(Ljava/lang/String;)Ljava/lang/StringBuilder;
    const-string v1, ": not a complete WAV file (no data chunk)"
    invoke-virtual {v3, v1}, Ljava/lang/StringBuilder;->append(Ljava/lang/String;)Ljava/lang/StringBuilder;
    invoke-virtual {v3}, Ljava/lang/StringBuilder;->toString()Ljava/lang/String;
    move-result-object v1
    invoke-direct {v2, v1}, Ljava/io/IOException;-><init>(Ljava/lang/String;)V
    throw v2

    :closing
    move-exception v2
    invoke-virtual {v0}, Ljava/io/RandomAccessFile;->close()V
    throw v2
.end method


# static IOException bad(String path, String why) {
#     return new IOException(path + ": " + why);
# }
.method static bad(Ljava/lang/String;Ljava/lang/String;)Ljava/io/IOException;
    .locals 3
    new-instance v0, Ljava/lang/StringBuilder;
    invoke-direct {v0}, Ljava/lang/StringBuilder;-><init>()V
    invoke-virtual {v0, p0}, Ljava/lang/StringBuilder;->append(Ljava/lang/String;)Ljava/lang/StringBuilder;
    const-string v1, ": "
    invoke-virtual {v0, v1}, Ljava/lang/StringBuilder;->append(Ljava/lang/String;)Ljava/lang/StringBuilder;
    invoke-virtual {v0, p1}, Ljava/lang/StringBuilder;->append(Ljava/lang/String;)Ljava/lang/StringBuilder;
    invoke-virtual {v0}, Ljava/lang/StringBuilder;->toString()Ljava/lang/String;
    move-result-object v1
    new-instance v2, Ljava/io/IOException;
    invoke-direct {v2, v1}, Ljava/io/IOException;-><init>(Ljava/lang/String;)V
    return-object v2
.end method


# static Wav parse(RandomAccessFile f, String path) throws IOException {
#     if (f.readInt() != 0x52494646 /* "RIFF" */) throw bad(path, "not a WAV file (no RIFF header)");
#     f.readInt();                                   // RIFF size: not trusted
#     if (f.readInt() != 0x57415645 /* "WAVE" */) throw bad(path, "not a WAV file (no WAVE tag)");
#     Wav w = new Wav();
#     int format = 0, bits = 0;
#     while (true) {
#         int id = f.readInt();
#         long size = Integer.reverseBytes(f.readInt()) & 0xffffffffL;
#         long next = f.getFilePointer() + size + (size & 1);      // chunks are padded to even sizes
#         if (id == 0x666d7420 /* "fmt " */) {
#             format = Short.reverseBytes(f.readShort()) & 0xffff;
#             w.channels = Short.reverseBytes(f.readShort()) & 0xffff;
#             w.rate = Integer.reverseBytes(f.readInt());
#             f.readInt();                                // byte rate
#             f.readShort();                              // block align
#             bits = Short.reverseBytes(f.readShort()) & 0xffff;
#         } else if (id == 0x64617461 /* "data" */) {
#             if (w.rate == 0) throw bad(path, "no fmt chunk before the data");
#             if (format != 1 || bits != 16) throw bad(path, "not 16-bit PCM (format " + format + ", " + bits + " bits)");
#             if (w.channels != 1 && w.channels != 2) throw bad(path, w.channels + " channels (1 or 2 are played)");
#             if (w.rate < 4000 || w.rate > 48000) throw bad(path, w.rate + " Hz (4000..48000 are played)");
#             long here = f.getFilePointer();
#             long length = Math.min(size, f.length() - here);
#             length = Math.min(length, 0x7fff0000L);
#             w.offset = (int) here;
#             w.length = (int) length - (int) length % (2 * w.channels);   // whole frames
#             return w;
#         }
#         f.seek(next);
#     }
# }
.method static parse(Ljava/io/RandomAccessFile;Ljava/lang/String;)Lmobilears/Wav;
    .locals 12
    # v0 w, v1 format, v2 bits, v3 id / scratch, v4-v5 size, v6-v7 next,
    # v8-v9 long scratch, v10-v11 long scratch

    invoke-virtual {p0}, Ljava/io/RandomAccessFile;->readInt()I
    move-result v3
    const v4, 0x52494646
    if-eq v3, v4, :riff_ok
    const-string v3, "not a WAV file (no RIFF header)"
    invoke-static {p1, v3}, Lmobilears/Wav;->bad(Ljava/lang/String;Ljava/lang/String;)Ljava/io/IOException;
    move-result-object v3
    throw v3

    :riff_ok
    invoke-virtual {p0}, Ljava/io/RandomAccessFile;->readInt()I
    invoke-virtual {p0}, Ljava/io/RandomAccessFile;->readInt()I
    move-result v3
    const v4, 0x57415645
    if-eq v3, v4, :wave_ok
    const-string v3, "not a WAV file (no WAVE tag)"
    invoke-static {p1, v3}, Lmobilears/Wav;->bad(Ljava/lang/String;Ljava/lang/String;)Ljava/io/IOException;
    move-result-object v3
    throw v3

    :wave_ok
    new-instance v0, Lmobilears/Wav;
    invoke-direct {v0}, Lmobilears/Wav;-><init>()V
    const/4 v1, 0x0
    const/4 v2, 0x0

    :chunk
    # id = f.readInt(); size = reverseBytes(f.readInt()) & 0xffffffffL
    invoke-virtual {p0}, Ljava/io/RandomAccessFile;->readInt()I
    move-result v3
    invoke-virtual {p0}, Ljava/io/RandomAccessFile;->readInt()I
    move-result v4
    invoke-static {v4}, Ljava/lang/Integer;->reverseBytes(I)I
    move-result v4
    int-to-long v4, v4
    const-wide v8, 0xffffffffL
    and-long/2addr v4, v8
    # next = f.getFilePointer() + size + (size & 1)
    invoke-virtual {p0}, Ljava/io/RandomAccessFile;->getFilePointer()J
    move-result-wide v6
    add-long/2addr v6, v4
    const-wide/16 v8, 0x1
    and-long/2addr v8, v4
    add-long/2addr v6, v8

    const v8, 0x666d7420
    if-eq v3, v8, :fmt
    const v8, 0x64617461
    if-eq v3, v8, :data
    goto :skip

    :fmt
    invoke-virtual {p0}, Ljava/io/RandomAccessFile;->readShort()S
    move-result v1
    invoke-static {v1}, Ljava/lang/Short;->reverseBytes(S)S
    move-result v1
    const v8, 0xffff
    and-int/2addr v1, v8
    invoke-virtual {p0}, Ljava/io/RandomAccessFile;->readShort()S
    move-result v3
    invoke-static {v3}, Ljava/lang/Short;->reverseBytes(S)S
    move-result v3
    and-int/2addr v3, v8
    iput v3, v0, Lmobilears/Wav;->channels:I
    invoke-virtual {p0}, Ljava/io/RandomAccessFile;->readInt()I
    move-result v3
    invoke-static {v3}, Ljava/lang/Integer;->reverseBytes(I)I
    move-result v3
    iput v3, v0, Lmobilears/Wav;->rate:I
    invoke-virtual {p0}, Ljava/io/RandomAccessFile;->readInt()I
    invoke-virtual {p0}, Ljava/io/RandomAccessFile;->readShort()S
    invoke-virtual {p0}, Ljava/io/RandomAccessFile;->readShort()S
    move-result v2
    invoke-static {v2}, Ljava/lang/Short;->reverseBytes(S)S
    move-result v2
    and-int/2addr v2, v8
    goto :skip

    :data
    iget v3, v0, Lmobilears/Wav;->rate:I
    if-nez v3, :have_fmt
    const-string v3, "no fmt chunk before the data"
    invoke-static {p1, v3}, Lmobilears/Wav;->bad(Ljava/lang/String;Ljava/lang/String;)Ljava/io/IOException;
    move-result-object v3
    throw v3

    :have_fmt
    const/4 v3, 0x1
    if-ne v1, v3, :not_pcm16
    const/16 v3, 0x10
    if-ne v2, v3, :not_pcm16
    goto :pcm16

    :not_pcm16
    new-instance v3, Ljava/lang/StringBuilder;
    const-string v8, "not 16-bit PCM (format "
    invoke-direct {v3, v8}, Ljava/lang/StringBuilder;-><init>(Ljava/lang/String;)V
    invoke-virtual {v3, v1}, Ljava/lang/StringBuilder;->append(I)Ljava/lang/StringBuilder;
    const-string v8, ", "
    invoke-virtual {v3, v8}, Ljava/lang/StringBuilder;->append(Ljava/lang/String;)Ljava/lang/StringBuilder;
    invoke-virtual {v3, v2}, Ljava/lang/StringBuilder;->append(I)Ljava/lang/StringBuilder;
    const-string v8, " bits)"
    invoke-virtual {v3, v8}, Ljava/lang/StringBuilder;->append(Ljava/lang/String;)Ljava/lang/StringBuilder;
    invoke-virtual {v3}, Ljava/lang/StringBuilder;->toString()Ljava/lang/String;
    move-result-object v3
    invoke-static {p1, v3}, Lmobilears/Wav;->bad(Ljava/lang/String;Ljava/lang/String;)Ljava/io/IOException;
    move-result-object v3
    throw v3

    :pcm16
    iget v3, v0, Lmobilears/Wav;->channels:I
    const/4 v8, 0x1
    if-eq v3, v8, :channels_ok
    const/4 v8, 0x2
    if-eq v3, v8, :channels_ok
    new-instance v8, Ljava/lang/StringBuilder;
    invoke-direct {v8}, Ljava/lang/StringBuilder;-><init>()V
    invoke-virtual {v8, v3}, Ljava/lang/StringBuilder;->append(I)Ljava/lang/StringBuilder;
    const-string v3, " channels (1 or 2 are played)"
    invoke-virtual {v8, v3}, Ljava/lang/StringBuilder;->append(Ljava/lang/String;)Ljava/lang/StringBuilder;
    invoke-virtual {v8}, Ljava/lang/StringBuilder;->toString()Ljava/lang/String;
    move-result-object v3
    invoke-static {p1, v3}, Lmobilears/Wav;->bad(Ljava/lang/String;Ljava/lang/String;)Ljava/io/IOException;
    move-result-object v3
    throw v3

    :channels_ok
    iget v3, v0, Lmobilears/Wav;->rate:I
    const/16 v8, 0xfa0
    if-lt v3, v8, :bad_rate
    const v8, 0xbb80
    if-gt v3, v8, :bad_rate
    goto :rate_ok

    :bad_rate
    new-instance v8, Ljava/lang/StringBuilder;
    invoke-direct {v8}, Ljava/lang/StringBuilder;-><init>()V
    invoke-virtual {v8, v3}, Ljava/lang/StringBuilder;->append(I)Ljava/lang/StringBuilder;
    const-string v3, " Hz (4000..48000 are played)"
    invoke-virtual {v8, v3}, Ljava/lang/StringBuilder;->append(Ljava/lang/String;)Ljava/lang/StringBuilder;
    invoke-virtual {v8}, Ljava/lang/StringBuilder;->toString()Ljava/lang/String;
    move-result-object v3
    invoke-static {p1, v3}, Lmobilears/Wav;->bad(Ljava/lang/String;Ljava/lang/String;)Ljava/io/IOException;
    move-result-object v3
    throw v3

    :rate_ok
    # here = f.getFilePointer(); length = min(size, f.length() - here, 0x7fff0000)
    invoke-virtual {p0}, Ljava/io/RandomAccessFile;->getFilePointer()J
    move-result-wide v8
    invoke-virtual {p0}, Ljava/io/RandomAccessFile;->length()J
    move-result-wide v10
    sub-long/2addr v10, v8
    invoke-static {v4, v5, v10, v11}, Ljava/lang/Math;->min(JJ)J
    move-result-wide v4
    const-wide v10, 0x7fff0000L
    invoke-static {v4, v5, v10, v11}, Ljava/lang/Math;->min(JJ)J
    move-result-wide v4
    # w.offset = (int) here
    long-to-int v3, v8
    iput v3, v0, Lmobilears/Wav;->offset:I
    # w.length = (int) length - (int) length % (2 * channels)
    long-to-int v3, v4
    iget v8, v0, Lmobilears/Wav;->channels:I
    add-int/2addr v8, v8
    rem-int v9, v3, v8
    sub-int/2addr v3, v9
    iput v3, v0, Lmobilears/Wav;->length:I
    return-object v0

    :skip
    invoke-virtual {p0, v6, v7}, Ljava/io/RandomAccessFile;->seek(J)V
    goto :chunk
.end method
