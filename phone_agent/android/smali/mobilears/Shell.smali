# mobilears.Shell: gives this app_process the pieces of an application that
# Android's audio classes look for. app_process starts a bare VM: no main
# Looper, no ActivityThread, no Application. AudioTrack/AudioRecord ask
# ActivityThread for the current application's package (to attribute the
# audio to it), so the helper makes an ActivityThread whose application is
# the shell package (ShellContext). Each step that fails is logged (logcat,
# tag mobile-ars-audio) and skipped: on many phones the audio classes work
# without it.
#
#   final class Shell {
#       static boolean prepared;
#       static void prepare();                               // once
#       static void appInfo(Class at, Object thread) throws Exception;
#       static void appContext(Class at, Object thread) throws Exception;
#       static void set(Class c, String field, Object target, Object value) throws Exception;
#   }

.class final Lmobilears/Shell;
.super Ljava/lang/Object;
.source "Shell.smali"


.field static prepared:Z


# static void prepare() {
#     if (prepared) return;
#     prepared = true;
#     Class at; Object thread;
#     try {
#         if (Looper.getMainLooper() == null) Looper.prepareMainLooper();
#         at = Class.forName("android.app.ActivityThread");
#         Constructor c = at.getDeclaredConstructor(new Class[0]);
#         c.setAccessible(true);
#         thread = c.newInstance(new Object[0]);
#         set(at, "sCurrentActivityThread", null, thread);     // ActivityThread.currentActivityThread()
#         Field f = at.getDeclaredField("mSystemThread");
#         f.setAccessible(true);
#         f.setBoolean(thread, true);
#     } catch (Throwable t) { Report.warn("no ActivityThread: " + t); return; }
#     try { appInfo(at, thread); } catch (Throwable t) { Report.warn("no application info: " + t); }
#     try { appContext(at, thread); } catch (Throwable t) { Report.warn("no application context: " + t); }
# }
.method static prepare()V
    .locals 7
    # v0 at, v1 thread, v2-v6 scratch

    sget-boolean v2, Lmobilears/Shell;->prepared:Z
    if-eqz v2, :first
    return-void

    :first
    const/4 v2, 0x1
    sput-boolean v2, Lmobilears/Shell;->prepared:Z

    :try_start_thread
    invoke-static {}, Landroid/os/Looper;->getMainLooper()Landroid/os/Looper;
    move-result-object v2
    if-nez v2, :have_looper
    invoke-static {}, Landroid/os/Looper;->prepareMainLooper()V
    :have_looper
    const-string v2, "android.app.ActivityThread"
    invoke-static {v2}, Ljava/lang/Class;->forName(Ljava/lang/String;)Ljava/lang/Class;
    move-result-object v0
    const/4 v2, 0x0
    new-array v3, v2, [Ljava/lang/Class;
    invoke-virtual {v0, v3}, Ljava/lang/Class;->getDeclaredConstructor([Ljava/lang/Class;)Ljava/lang/reflect/Constructor;
    move-result-object v3
    const/4 v4, 0x1
    invoke-virtual {v3, v4}, Ljava/lang/reflect/Constructor;->setAccessible(Z)V
    new-array v4, v2, [Ljava/lang/Object;
    invoke-virtual {v3, v4}, Ljava/lang/reflect/Constructor;->newInstance([Ljava/lang/Object;)Ljava/lang/Object;
    move-result-object v1
    const-string v3, "sCurrentActivityThread"
    const/4 v4, 0x0
    invoke-static {v0, v3, v4, v1}, Lmobilears/Shell;->set(Ljava/lang/Class;Ljava/lang/String;Ljava/lang/Object;Ljava/lang/Object;)V
    const-string v3, "mSystemThread"
    invoke-virtual {v0, v3}, Ljava/lang/Class;->getDeclaredField(Ljava/lang/String;)Ljava/lang/reflect/Field;
    move-result-object v3
    const/4 v4, 0x1
    invoke-virtual {v3, v4}, Ljava/lang/reflect/Field;->setAccessible(Z)V
    invoke-virtual {v3, v1, v4}, Ljava/lang/reflect/Field;->setBoolean(Ljava/lang/Object;Z)V
    :try_end_thread
    .catchall {:try_start_thread .. :try_end_thread} :no_thread

    :try_start_info
    invoke-static {v0, v1}, Lmobilears/Shell;->appInfo(Ljava/lang/Class;Ljava/lang/Object;)V
    :try_end_info
    .catchall {:try_start_info .. :try_end_info} :no_info

    :context
    :try_start_context
    invoke-static {v0, v1}, Lmobilears/Shell;->appContext(Ljava/lang/Class;Ljava/lang/Object;)V
    :try_end_context
    .catchall {:try_start_context .. :try_end_context} :no_context
    return-void

    :no_thread
    move-exception v2
    const-string v3, "no ActivityThread: "
    invoke-static {v3, v2}, Lmobilears/Shell;->warn(Ljava/lang/String;Ljava/lang/Throwable;)V
    return-void

    :no_info
    move-exception v2
    const-string v3, "no application info: "
    invoke-static {v3, v2}, Lmobilears/Shell;->warn(Ljava/lang/String;Ljava/lang/Throwable;)V
    goto :context

    :no_context
    move-exception v2
    const-string v3, "no application context: "
    invoke-static {v3, v2}, Lmobilears/Shell;->warn(Ljava/lang/String;Ljava/lang/Throwable;)V
    return-void
.end method


# static void warn(String what, Throwable t) { Report.warn(what + t); }
.method static warn(Ljava/lang/String;Ljava/lang/Throwable;)V
    .locals 1
    new-instance v0, Ljava/lang/StringBuilder;
    invoke-direct {v0, p0}, Ljava/lang/StringBuilder;-><init>(Ljava/lang/String;)V
    invoke-virtual {v0, p1}, Ljava/lang/StringBuilder;->append(Ljava/lang/Object;)Ljava/lang/StringBuilder;
    invoke-virtual {v0}, Ljava/lang/StringBuilder;->toString()Ljava/lang/String;
    move-result-object v0
    invoke-static {v0}, Lmobilears/Report;->warn(Ljava/lang/String;)V
    return-void
.end method


# static void appInfo(Class at, Object thread) throws Exception {
#     // thread.mBoundApplication = new AppBindData() with appInfo.packageName = "com.android.shell"
#     Class bind = Class.forName("android.app.ActivityThread$AppBindData");
#     Constructor c = bind.getDeclaredConstructor(new Class[0]);
#     c.setAccessible(true);
#     Object data = c.newInstance(new Object[0]);
#     ApplicationInfo info = new ApplicationInfo();
#     info.packageName = "com.android.shell";
#     set(bind, "appInfo", data, info);
#     set(at, "mBoundApplication", thread, data);
# }
.method static appInfo(Ljava/lang/Class;Ljava/lang/Object;)V
    .locals 5
    const-string v0, "android.app.ActivityThread$AppBindData"
    invoke-static {v0}, Ljava/lang/Class;->forName(Ljava/lang/String;)Ljava/lang/Class;
    move-result-object v0
    const/4 v1, 0x0
    new-array v2, v1, [Ljava/lang/Class;
    invoke-virtual {v0, v2}, Ljava/lang/Class;->getDeclaredConstructor([Ljava/lang/Class;)Ljava/lang/reflect/Constructor;
    move-result-object v2
    const/4 v3, 0x1
    invoke-virtual {v2, v3}, Ljava/lang/reflect/Constructor;->setAccessible(Z)V
    new-array v3, v1, [Ljava/lang/Object;
    invoke-virtual {v2, v3}, Ljava/lang/reflect/Constructor;->newInstance([Ljava/lang/Object;)Ljava/lang/Object;
    move-result-object v2
    new-instance v3, Landroid/content/pm/ApplicationInfo;
    invoke-direct {v3}, Landroid/content/pm/ApplicationInfo;-><init>()V
    const-string v4, "com.android.shell"
    iput-object v4, v3, Landroid/content/pm/ApplicationInfo;->packageName:Ljava/lang/String;
    const-string v4, "appInfo"
    invoke-static {v0, v4, v2, v3}, Lmobilears/Shell;->set(Ljava/lang/Class;Ljava/lang/String;Ljava/lang/Object;Ljava/lang/Object;)V
    const-string v4, "mBoundApplication"
    invoke-static {p0, v4, p1, v2}, Lmobilears/Shell;->set(Ljava/lang/Class;Ljava/lang/String;Ljava/lang/Object;Ljava/lang/Object;)V
    return-void
.end method


# static void appContext(Class at, Object thread) throws Exception {
#     Method m = at.getDeclaredMethod("getSystemContext", new Class[0]);
#     m.setAccessible(true);
#     Context system = (Context) m.invoke(thread, new Object[0]);
#     Application app = Instrumentation.newApplication(Application.class, new ShellContext(system));
#     set(at, "mInitialApplication", thread, app);      // ActivityThread.currentApplication()
# }
.method static appContext(Ljava/lang/Class;Ljava/lang/Object;)V
    .locals 5
    const-string v0, "getSystemContext"
    const/4 v1, 0x0
    new-array v2, v1, [Ljava/lang/Class;
    invoke-virtual {p0, v0, v2}, Ljava/lang/Class;->getDeclaredMethod(Ljava/lang/String;[Ljava/lang/Class;)Ljava/lang/reflect/Method;
    move-result-object v0
    const/4 v2, 0x1
    invoke-virtual {v0, v2}, Ljava/lang/reflect/Method;->setAccessible(Z)V
    new-array v2, v1, [Ljava/lang/Object;
    invoke-virtual {v0, p1, v2}, Ljava/lang/reflect/Method;->invoke(Ljava/lang/Object;[Ljava/lang/Object;)Ljava/lang/Object;
    move-result-object v0
    check-cast v0, Landroid/content/Context;
    new-instance v3, Lmobilears/ShellContext;
    invoke-direct {v3, v0}, Lmobilears/ShellContext;-><init>(Landroid/content/Context;)V
    const-class v4, Landroid/app/Application;
    invoke-static {v4, v3}, Landroid/app/Instrumentation;->newApplication(Ljava/lang/Class;Landroid/content/Context;)Landroid/app/Application;
    move-result-object v4
    const-string v0, "mInitialApplication"
    invoke-static {p0, v0, p1, v4}, Lmobilears/Shell;->set(Ljava/lang/Class;Ljava/lang/String;Ljava/lang/Object;Ljava/lang/Object;)V
    return-void
.end method


# static void set(Class c, String name, Object target, Object value) throws Exception {
#     Field f = c.getDeclaredField(name);
#     f.setAccessible(true);
#     f.set(target, value);
# }
.method static set(Ljava/lang/Class;Ljava/lang/String;Ljava/lang/Object;Ljava/lang/Object;)V
    .locals 2
    invoke-virtual {p0, p1}, Ljava/lang/Class;->getDeclaredField(Ljava/lang/String;)Ljava/lang/reflect/Field;
    move-result-object v0
    const/4 v1, 0x1
    invoke-virtual {v0, v1}, Ljava/lang/reflect/Field;->setAccessible(Z)V
    invoke-virtual {v0, p2, p3}, Ljava/lang/reflect/Field;->set(Ljava/lang/Object;Ljava/lang/Object;)V
    return-void
.end method
