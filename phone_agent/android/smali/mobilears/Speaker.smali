# mobilears.Speaker: turns the speakerphone on (and sets the volume) through
# Android's audio service, reached as system services are reached without a
# Context: ServiceManager.getService("audio") and IAudioService.Stub.asInterface,
# both hidden classes, by reflection. The methods' parameters differ between
# releases (Android 10: setSpeakerphoneOn(boolean); 11-14: setSpeakerphoneOn(
# IBinder client, boolean on), some builds add the calling package), so a
# method is found by name and called with parameters filled by type (call/fill).
# On Android 12+ the request lasts while its client token's process lives:
# the helper holds it while it plays or records.
#
#   final class Speaker {
#       static IBinder token;
#       static String on(int stream, int volume);   // null, or what failed
#       static void volume(Object audio, int stream, int percent) throws Throwable;
#       static Object service() throws Exception;
#       static Object call(Object target, String name, int[] ints) throws Throwable;
#       static Object[] fill(Class[] types, int[] ints);
#       static IBinder token();
#   }

.class final Lmobilears/Speaker;
.super Ljava/lang/Object;
.source "Speaker.smali"


.field static token:Landroid/os/IBinder;


# static String on(int stream, int volume) {
#     Object audio;
#     try { audio = service(); }
#     catch (Throwable t) { return "cannot reach Android's audio service: " + t; }
#     String problem = null;
#     try { call(audio, "setSpeakerphoneOn", new int[0]); }
#     catch (Throwable t) { problem = "could not turn the speakerphone on: " + t; }
#     if (volume >= 0) {
#         try { volume(audio, stream, volume); }
#         catch (Throwable t) { problem = "could not set the volume: " + t; }
#     }
#     return problem;
# }
.method static on(II)Ljava/lang/String;
    .locals 4
    # v0 audio, v1 problem, v2-v3 scratch

    :try_start_service
    invoke-static {}, Lmobilears/Speaker;->service()Ljava/lang/Object;
    move-result-object v0
    :try_end_service
    .catchall {:try_start_service .. :try_end_service} :no_service

    const/4 v1, 0x0

    :try_start_speaker
    const-string v2, "setSpeakerphoneOn"
    const/4 v3, 0x0
    new-array v3, v3, [I
    invoke-static {v0, v2, v3}, Lmobilears/Speaker;->call(Ljava/lang/Object;Ljava/lang/String;[I)Ljava/lang/Object;
    :try_end_speaker
    .catchall {:try_start_speaker .. :try_end_speaker} :no_speaker

    :volume
    if-ltz p1, :done
    :try_start_volume
    invoke-static {v0, p0, p1}, Lmobilears/Speaker;->volume(Ljava/lang/Object;II)V
    :try_end_volume
    .catchall {:try_start_volume .. :try_end_volume} :no_volume

    :done
    return-object v1

    :no_service
    move-exception v2
    const-string v3, "cannot reach Android's audio service: "
    invoke-static {v3, v2}, Lmobilears/Speaker;->say(Ljava/lang/String;Ljava/lang/Throwable;)Ljava/lang/String;
    move-result-object v1
    return-object v1

    :no_speaker
    move-exception v2
    const-string v3, "could not turn the speakerphone on: "
    invoke-static {v3, v2}, Lmobilears/Speaker;->say(Ljava/lang/String;Ljava/lang/Throwable;)Ljava/lang/String;
    move-result-object v1
    goto :volume

    :no_volume
    move-exception v2
    const-string v3, "could not set the volume: "
    invoke-static {v3, v2}, Lmobilears/Speaker;->say(Ljava/lang/String;Ljava/lang/Throwable;)Ljava/lang/String;
    move-result-object v1
    return-object v1
.end method


# static String say(String what, Throwable t) { return what + t; }
.method static say(Ljava/lang/String;Ljava/lang/Throwable;)Ljava/lang/String;
    .locals 1
    new-instance v0, Ljava/lang/StringBuilder;
    invoke-direct {v0, p0}, Ljava/lang/StringBuilder;-><init>(Ljava/lang/String;)V
    invoke-virtual {v0, p1}, Ljava/lang/StringBuilder;->append(Ljava/lang/Object;)Ljava/lang/StringBuilder;
    invoke-virtual {v0}, Ljava/lang/StringBuilder;->toString()Ljava/lang/String;
    move-result-object v0
    return-object v0
.end method


# static void volume(Object audio, int stream, int percent) throws Throwable {
#     Integer max = (Integer) call(audio, "getStreamMaxVolume", new int[] {stream});
#     int index = (max.intValue() * percent + 50) / 100;
#     call(audio, "setStreamVolume", new int[] {stream, index, 0});   // flags 0: no UI, no sound
# }
.method static volume(Ljava/lang/Object;II)V
    .locals 4
    const/4 v0, 0x1
    new-array v0, v0, [I
    const/4 v1, 0x0
    aput p1, v0, v1
    const-string v1, "getStreamMaxVolume"
    invoke-static {p0, v1, v0}, Lmobilears/Speaker;->call(Ljava/lang/Object;Ljava/lang/String;[I)Ljava/lang/Object;
    move-result-object v0
    check-cast v0, Ljava/lang/Integer;
    invoke-virtual {v0}, Ljava/lang/Integer;->intValue()I
    move-result v0
    mul-int/2addr v0, p2
    add-int/lit8 v0, v0, 0x32
    div-int/lit8 v0, v0, 0x64

    const/4 v1, 0x3
    new-array v1, v1, [I
    const/4 v2, 0x0
    aput p1, v1, v2
    const/4 v2, 0x1
    aput v0, v1, v2
    const/4 v2, 0x2
    const/4 v3, 0x0
    aput v3, v1, v2
    const-string v2, "setStreamVolume"
    invoke-static {p0, v2, v1}, Lmobilears/Speaker;->call(Ljava/lang/Object;Ljava/lang/String;[I)Ljava/lang/Object;
    return-void
.end method


# static Object service() throws Exception {
#     Method get = Class.forName("android.os.ServiceManager").getMethod("getService", new Class[] {String.class});
#     Object binder = get.invoke(null, new Object[] {"audio"});
#     if (binder == null) throw new IllegalStateException("Android has no \"audio\" service");
#     Method as = Class.forName("android.media.IAudioService$Stub").getMethod("asInterface", new Class[] {IBinder.class});
#     return as.invoke(null, new Object[] {binder});
# }
.method static service()Ljava/lang/Object;
    .locals 6
    const-string v0, "android.os.ServiceManager"
    invoke-static {v0}, Ljava/lang/Class;->forName(Ljava/lang/String;)Ljava/lang/Class;
    move-result-object v0
    const/4 v1, 0x1
    new-array v2, v1, [Ljava/lang/Class;
    const/4 v3, 0x0
    const-class v4, Ljava/lang/String;
    aput-object v4, v2, v3
    const-string v4, "getService"
    invoke-virtual {v0, v4, v2}, Ljava/lang/Class;->getMethod(Ljava/lang/String;[Ljava/lang/Class;)Ljava/lang/reflect/Method;
    move-result-object v0
    new-array v2, v1, [Ljava/lang/Object;
    const-string v4, "audio"
    aput-object v4, v2, v3
    const/4 v5, 0x0
    invoke-virtual {v0, v5, v2}, Ljava/lang/reflect/Method;->invoke(Ljava/lang/Object;[Ljava/lang/Object;)Ljava/lang/Object;
    move-result-object v4
    if-nez v4, :have_binder
    new-instance v0, Ljava/lang/IllegalStateException;
    const-string v1, "Android has no \"audio\" service"
    invoke-direct {v0, v1}, Ljava/lang/IllegalStateException;-><init>(Ljava/lang/String;)V
    throw v0

    :have_binder
    const-string v0, "android.media.IAudioService$Stub"
    invoke-static {v0}, Ljava/lang/Class;->forName(Ljava/lang/String;)Ljava/lang/Class;
    move-result-object v0
    new-array v2, v1, [Ljava/lang/Class;
    const-class v5, Landroid/os/IBinder;
    aput-object v5, v2, v3
    const-string v5, "asInterface"
    invoke-virtual {v0, v5, v2}, Ljava/lang/Class;->getMethod(Ljava/lang/String;[Ljava/lang/Class;)Ljava/lang/reflect/Method;
    move-result-object v0
    new-array v2, v1, [Ljava/lang/Object;
    aput-object v4, v2, v3
    const/4 v5, 0x0
    invoke-virtual {v0, v5, v2}, Ljava/lang/reflect/Method;->invoke(Ljava/lang/Object;[Ljava/lang/Object;)Ljava/lang/Object;
    move-result-object v0
    return-object v0
.end method


# static Object call(Object target, String name, int[] ints) throws Throwable {
#     Method[] methods = target.getClass().getMethods();
#     Throwable failure = new NoSuchMethodException(name);
#     for (int i = 0; i < methods.length; i++) {
#         Method m = methods[i];
#         if (!m.getName().equals(name)) continue;
#         Object[] args = fill(m.getParameterTypes(), ints);
#         if (args == null) continue;
#         try { return m.invoke(target, args); }
#         catch (InvocationTargetException e) {               // the service refused: try the next
#             failure = e.getCause() != null ? e.getCause() : e;
#         }
#     }
#     throw failure;
# }
.method static call(Ljava/lang/Object;Ljava/lang/String;[I)Ljava/lang/Object;
    .locals 7
    # v0 methods, v1 failure, v2 i, v3 m, v4-v6 scratch
    invoke-virtual {p0}, Ljava/lang/Object;->getClass()Ljava/lang/Class;
    move-result-object v0
    invoke-virtual {v0}, Ljava/lang/Class;->getMethods()[Ljava/lang/reflect/Method;
    move-result-object v0
    new-instance v1, Ljava/lang/NoSuchMethodException;
    invoke-direct {v1, p1}, Ljava/lang/NoSuchMethodException;-><init>(Ljava/lang/String;)V
    const/4 v2, 0x0

    :loop
    array-length v4, v0
    if-ge v2, v4, :end
    aget-object v3, v0, v2
    invoke-virtual {v3}, Ljava/lang/reflect/Method;->getName()Ljava/lang/String;
    move-result-object v4
    invoke-virtual {v4, p1}, Ljava/lang/String;->equals(Ljava/lang/Object;)Z
    move-result v4
    if-eqz v4, :next
    invoke-virtual {v3}, Ljava/lang/reflect/Method;->getParameterTypes()[Ljava/lang/Class;
    move-result-object v4
    invoke-static {v4, p2}, Lmobilears/Speaker;->fill([Ljava/lang/Class;[I)[Ljava/lang/Object;
    move-result-object v4
    if-eqz v4, :next

    :try_start
    invoke-virtual {v3, p0, v4}, Ljava/lang/reflect/Method;->invoke(Ljava/lang/Object;[Ljava/lang/Object;)Ljava/lang/Object;
    move-result-object v5
    :try_end
    .catch Ljava/lang/reflect/InvocationTargetException; {:try_start .. :try_end} :refused
    return-object v5

    :refused
    move-exception v5
    invoke-virtual {v5}, Ljava/lang/reflect/InvocationTargetException;->getCause()Ljava/lang/Throwable;
    move-result-object v1
    if-nez v1, :next
    move-object v1, v5

    :next
    add-int/lit8 v2, v2, 0x1
    goto :loop

    :end
    throw v1
.end method


# static Object[] fill(Class[] types, int[] ints) {
#     Object[] args = new Object[types.length];
#     int k = 0;
#     for (int i = 0; i < types.length; i++) {
#         Class t = types[i];
#         if (t == Integer.TYPE) {
#             if (k == ints.length) return null;
#             args[i] = Integer.valueOf(ints[k++]);
#         } else if (t == Boolean.TYPE) args[i] = Boolean.TRUE;
#         else if (t == String.class) args[i] = "com.android.shell";   // the calling package
#         else if (t == IBinder.class) args[i] = token();
#         else return null;                                            // a parameter we cannot fill
#     }
#     return k == ints.length ? args : null;
# }
.method static fill([Ljava/lang/Class;[I)[Ljava/lang/Object;
    .locals 7
    # v0 args, v1 k, v2 i, v3 t, v4-v6 scratch
    array-length v4, p0
    new-array v0, v4, [Ljava/lang/Object;
    const/4 v1, 0x0
    const/4 v2, 0x0

    :loop
    array-length v4, p0
    if-ge v2, v4, :end
    aget-object v3, p0, v2

    sget-object v4, Ljava/lang/Integer;->TYPE:Ljava/lang/Class;
    if-ne v3, v4, :not_int
    array-length v5, p1
    if-ne v1, v5, :have_int
    const/4 v6, 0x0
    return-object v6
    :have_int
    aget v5, p1, v1
    invoke-static {v5}, Ljava/lang/Integer;->valueOf(I)Ljava/lang/Integer;
    move-result-object v5
    aput-object v5, v0, v2
    add-int/lit8 v1, v1, 0x1
    goto :next

    :not_int
    sget-object v4, Ljava/lang/Boolean;->TYPE:Ljava/lang/Class;
    if-ne v3, v4, :not_boolean
    sget-object v5, Ljava/lang/Boolean;->TRUE:Ljava/lang/Boolean;
    aput-object v5, v0, v2
    goto :next

    :not_boolean
    const-class v4, Ljava/lang/String;
    if-ne v3, v4, :not_string
    const-string v5, "com.android.shell"
    aput-object v5, v0, v2
    goto :next

    :not_string
    const-class v4, Landroid/os/IBinder;
    if-ne v3, v4, :cannot
    invoke-static {}, Lmobilears/Speaker;->token()Landroid/os/IBinder;
    move-result-object v5
    aput-object v5, v0, v2
    goto :next

    :cannot
    const/4 v6, 0x0
    return-object v6

    :next
    add-int/lit8 v2, v2, 0x1
    goto :loop

    :end
    array-length v5, p1
    if-ne v1, v5, :cannot
    return-object v0
.end method


# static IBinder token() { if (token == null) token = new Binder(); return token; }
.method static token()Landroid/os/IBinder;
    .locals 1
    sget-object v0, Lmobilears/Speaker;->token:Landroid/os/IBinder;
    if-nez v0, :have
    new-instance v0, Landroid/os/Binder;
    invoke-direct {v0}, Landroid/os/Binder;-><init>()V
    sput-object v0, Lmobilears/Speaker;->token:Landroid/os/IBinder;
    :have
    return-object v0
.end method
