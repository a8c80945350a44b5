# mobilears.Report: what the helper says, on stdout (the adb exec: stream
# carries stdout and stderr together, so one stream is used) and in logcat.
#
#   final class Report {
#       static final String TAG = "mobile-ars-audio";
#       static void line(String s);     // System.out.println(s); System.out.flush();
#       static void error(Throwable t); // line("Error: " + what(t)); Log.e(TAG, ..., t)
#       static void warn(String s);     // Log.w(TAG, s)  (never on stdout: record's stdout is PCM)
#       static int usage();             // line("Error: usage: ..."); return 2;
#   }

.class final Lmobilears/Report;
.super Ljava/lang/Object;
.source "Report.smali"


# static void line(String s) { System.out.println(s); System.out.flush(); }
.method static line(Ljava/lang/String;)V
    .locals 1
    sget-object v0, Ljava/lang/System;->out:Ljava/io/PrintStream;
    invoke-virtual {v0, p0}, Ljava/io/PrintStream;->println(Ljava/lang/String;)V
    invoke-virtual {v0}, Ljava/io/PrintStream;->flush()V
    return-void
.end method


# static void error(Throwable t) {
#     String what = t.getMessage();
#     if (t instanceof IllegalArgumentException || t instanceof IllegalStateException
#             || t instanceof java.io.IOException) {
#         what = (what == null) ? t.toString() : what;     // our own messages: as written
#     } else {
#         what = t.toString();                              // anything else: with its class
#     }
#     line("Error: " + what);
#     Log.e("mobile-ars-audio", "failed", t);
# }
.method static error(Ljava/lang/Throwable;)V
    .locals 4
    invoke-virtual {p0}, Ljava/lang/Throwable;->getMessage()Ljava/lang/String;
    move-result-object v0

    instance-of v1, p0, Ljava/lang/IllegalArgumentException;
    if-nez v1, :ours
    instance-of v1, p0, Ljava/lang/IllegalStateException;
    if-nez v1, :ours
    instance-of v1, p0, Ljava/io/IOException;
    if-nez v1, :ours
    goto :with_class

    :ours
    if-nez v0, :say

    :with_class
    invoke-virtual {p0}, Ljava/lang/Throwable;->toString()Ljava/lang/String;
    move-result-object v0

    :say
    new-instance v1, Ljava/lang/StringBuilder;
    const-string v2, "Error: "
    invoke-direct {v1, v2}, Ljava/lang/StringBuilder;-><init>(Ljava/lang/String;)V
    invoke-virtual {v1, v0}, Ljava/lang/StringBuilder;->append(Ljava/lang/String;)Ljava/lang/StringBuilder;
    invoke-virtual {v1}, Ljava/lang/StringBuilder;->toString()Ljava/lang/String;
    move-result-object v1
    invoke-static {v1}, Lmobilears/Report;->line(Ljava/lang/String;)V

    const-string v2, "mobile-ars-audio"
    const-string v3, "failed"
    invoke-static {v2, v3, p0}, Landroid/util/Log;->e(Ljava/lang/String;Ljava/lang/String;Ljava/lang/Throwable;)I
    return-void
.end method


# static void warn(String s) { Log.w("mobile-ars-audio", s); }
.method static warn(Ljava/lang/String;)V
    .locals 1
    const-string v0, "mobile-ars-audio"
    invoke-static {v0, p0}, Landroid/util/Log;->w(Ljava/lang/String;Ljava/lang/String;)I
    return-void
.end method


# static int usage() {
#     line("Error: usage: mobilears.Audio version | play FILE [--volume 0..100] "
#          + "[--stream voice_call|music] | record RATE");
#     return 2;
# }
.method static usage()I
    .locals 1
    const-string v0, "Error: usage: mobilears.Audio version | play FILE [--volume 0..100] [--stream voice_call|music] | record RATE"
    invoke-static {v0}, Lmobilears/Report;->line(Ljava/lang/String;)V
    const/4 v0, 0x2
    return v0
.end method
