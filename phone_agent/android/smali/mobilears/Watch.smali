# mobilears.Watch: notices that the backend closed the adb stream. The
# stream is the helper's stdin; when it closes, read() returns -1 and
# "closed" turns true; play and record check it between buffers.
#
#   final class Watch extends Thread {
#       volatile boolean closed;
#       static Watch begin() { Watch w = new Watch(); w.setDaemon(true); w.start(); return w; }
#       public void run() {
#           byte[] b = new byte[256];
#           try { while (System.in.read(b) >= 0) { } } catch (IOException e) { }
#           closed = true;
#       }
#   }

.class final Lmobilears/Watch;
.super Ljava/lang/Thread;
.source "Watch.smali"


.field volatile closed:Z


# Watch() { super("mobile-ars-stdin"); }
.method constructor <init>()V
    .locals 1
    const-string v0, "mobile-ars-stdin"
    invoke-direct {p0, v0}, Ljava/lang/Thread;-><init>(Ljava/lang/String;)V
    return-void
.end method


# static Watch begin() { Watch w = new Watch(); w.setDaemon(true); w.start(); return w; }
.method static begin()Lmobilears/Watch;
    .locals 2
    new-instance v0, Lmobilears/Watch;
    invoke-direct {v0}, Lmobilears/Watch;-><init>()V
    const/4 v1, 0x1
    invoke-virtual {v0, v1}, Lmobilears/Watch;->setDaemon(Z)V
    invoke-virtual {v0}, Lmobilears/Watch;->start()V
    return-object v0
.end method


# public void run(): read stdin until its end, then closed = true
.method public run()V
    .locals 3
    const/16 v0, 0x100
    new-array v0, v0, [B

    :try_start
    :read
    sget-object v1, Ljava/lang/System;->in:Ljava/io/InputStream;
    invoke-virtual {v1, v0}, Ljava/io/InputStream;->read([B)I
    move-result v2
    if-gez v2, :read
    :try_end
    .catch Ljava/io/IOException; {:try_start .. :try_end} :gone

    :gone
    const/4 v1, 0x1
    iput-boolean v1, p0, Lmobilears/Watch;->closed:Z
    return-void
.end method
