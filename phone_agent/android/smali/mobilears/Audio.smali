# mobilears.Audio: the phone's audio helper, the entry point app_process runs:
#
#   CLASSPATH=/data/local/tmp/mobile-ars-audio.jar app_process / mobilears.Audio COMMAND ...
#
#   version                   prints "mobile-ars-audio <N>" (VERSION below)
#   play FILE [--volume 0..100] [--stream voice_call|music]
#                             Play.run: "playing <ms>", the WAV on the speakerphone, "done"
#   record RATE               Record.run: PCM16LE mono from the microphone on stdout
#
# Both play and record stop when stdin closes (the adb stream is closed).
# Any failure prints one line "Error: <what>" and exits with 1; a usage
# error exits with 2. Java this file stands for:
#
#   public final class Audio {
#       public static final String VERSION = "mobile-ars-audio 1";
#       public static void main(String[] args) { ... }
#   }
#
# The version number goes up with every change of the helper's behaviour;
# phone_agent/android/__init__.py holds the same number (HELPER_VERSION) and
# the build checks that the two agree.

.class public final Lmobilears/Audio;
.super Ljava/lang/Object;
.source "Audio.smali"


.field public static final VERSION:Ljava/lang/String; = "mobile-ars-audio 1"


# public static void main(String[] args) {
#     int code;
#     try {
#         if (args.length == 0) { code = Report.usage(); }
#         else if (args[0].equals("version")) { Report.line(VERSION); code = 0; }
#         else if (args[0].equals("play")) { code = Play.run(args); }
#         else if (args[0].equals("record")) { code = Record.run(args); }
#         else { code = Report.usage(); }
#     } catch (Throwable t) {
#         Report.error(t);
#         code = 1;
#     }
#     System.exit(code);   // AudioTrack/AudioRecord threads would keep the VM alive
# }
.method public static main([Ljava/lang/String;)V
    .locals 3

    :try_start
    array-length v0, p0
    if-eqz v0, :usage

    const/4 v0, 0x0
    aget-object v0, p0, v0

    const-string v1, "version"
    invoke-virtual {v1, v0}, Ljava/lang/String;->equals(Ljava/lang/Object;)Z
    move-result v2
    if-eqz v2, :not_version
    const-string v1, "mobile-ars-audio 1"
    invoke-static {v1}, Lmobilears/Report;->line(Ljava/lang/String;)V
    const/4 v0, 0x0
    goto :exit

    :not_version
    const-string v1, "play"
    invoke-virtual {v1, v0}, Ljava/lang/String;->equals(Ljava/lang/Object;)Z
    move-result v2
    if-eqz v2, :not_play
    invoke-static {p0}, Lmobilears/Play;->run([Ljava/lang/String;)I
    move-result v0
    goto :exit

    :not_play
    const-string v1, "record"
    invoke-virtual {v1, v0}, Ljava/lang/String;->equals(Ljava/lang/Object;)Z
    move-result v2
    if-eqz v2, :usage
    invoke-static {p0}, Lmobilears/Record;->run([Ljava/lang/String;)I
    move-result v0
    goto :exit

    :usage
    invoke-static {}, Lmobilears/Report;->usage()I
    move-result v0
    :try_end
    .catchall {:try_start .. :try_end} :failed

    :exit
    invoke-static {v0}, Ljava/lang/System;->exit(I)V
    return-void

    :failed
    move-exception v1
    invoke-static {v1}, Lmobilears/Report;->error(Ljava/lang/Throwable;)V
    const/4 v0, 0x1
    goto :exit
.end method
