# mobilears.ShellContext: a Context that says it is the shell package
# (com.android.shell, uid 2000, which the helper runs as). app_process has no
# Context of its own; AudioRecord and AudioTrack attribute their use of audio
# to the application's package (Android 12+: its AttributionSource), and an
# app op check fails for a package that is not the caller's. It wraps the
# system context and changes only who it says it is.
#
#   final class ShellContext extends ContextWrapper {
#       ShellContext(Context base) { super(base); }
#       public String getPackageName()   { return "com.android.shell"; }
#       public String getOpPackageName() { return "com.android.shell"; }
#       public Context getApplicationContext() { return this; }
#       // Android 12+ (API 31); never called on older releases
#       public AttributionSource getAttributionSource() {
#           return new AttributionSource.Builder(2000).setPackageName("com.android.shell").build();
#       }
#   }

.class final Lmobilears/ShellContext;
.super Landroid/content/ContextWrapper;
.source "ShellContext.smali"


.method constructor <init>(Landroid/content/Context;)V
    .locals 0
    invoke-direct {p0, p1}, Landroid/content/ContextWrapper;-><init>(Landroid/content/Context;)V
    return-void
.end method


.method public getPackageName()Ljava/lang/String;
    .locals 1
    const-string v0, "com.android.shell"
    return-object v0
.end method


.method public getOpPackageName()Ljava/lang/String;
    .locals 1
    const-string v0, "com.android.shell"
    return-object v0
.end method


.method public getApplicationContext()Landroid/content/Context;
    .locals 0
    return-object p0
.end method


.method public getAttributionSource()Landroid/content/AttributionSource;
    .locals 3
    new-instance v0, Landroid/content/AttributionSource$Builder;
    const/16 v1, 0x7d0
    invoke-direct {v0, v1}, Landroid/content/AttributionSource$Builder;-><init>(I)V
    const-string v2, "com.android.shell"
    invoke-virtual {v0, v2}, Landroid/content/AttributionSource$Builder;->setPackageName(Ljava/lang/String;)Landroid/content/AttributionSource$Builder;
    invoke-virtual {v0}, Landroid/content/AttributionSource$Builder;->build()Landroid/content/AttributionSource;
    move-result-object v0
    return-object v0
.end method
