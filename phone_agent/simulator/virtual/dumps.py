"""What the virtual handset prints: ``getprop`` and ``dumpsys
telephony.registry | telecom | battery``, in the layouts real releases print
(Android 10–14 as the handset's :class:`~.handset.AndroidProfile` says,
single or dual SIM — the formats of the samples in
``phone_agent/telephony/fixtures``). Telecom prints numbers masked (user
build).

Each renderer reads a :class:`~.handset.VirtualHandset` (``h``): its profile,
seeded readings (battery, signal) and its :class:`~.telecom.Telecom`.
``dumpsys_layout="unknown"`` makes ``dumpsys telephony.registry`` print a
layout no parser knows.
"""

from __future__ import annotations

import re
import time
from typing import TYPE_CHECKING

from .telecom import LINGER_S, Call

if TYPE_CHECKING:
    from .handset import VirtualHandset

__all__ = ["dumpsys", "properties"]


async def dumpsys(h: VirtualHandset, args: list[str]) -> tuple[str, int]:
    """``dumpsys [SERVICE]``: (output, exit code)."""
    if not args:
        return "Currently running services:\n  battery\n  telecom\n  telephony.registry\n", 0
    service = args[0]
    if service == "telephony.registry":
        if h.dumpsys_layout == "unknown":
            return _registry_unknown(h), 0
        return _registry(h), 0
    if service == "telecom":
        return _calls(h), 0
    if service == "battery":
        return _battery(h), 0
    return f"Can't find service: {service}\n", 0


def properties(h: VirtualHandset) -> dict[str, str]:
    """``getprop``: the phone's identity, release and SIMs."""
    p = h.profile
    sims = [("READY" if op else "ABSENT") for op, _ in p.operators[:p.slots]]
    nets = [("LTE" if op else "Unknown") for op, _ in p.operators[:p.slots]]
    ops = [op for op, _ in p.operators[:p.slots]]
    numeric = [f"450{mnc}" if op else "" for op, mnc in p.operators[:p.slots]]
    props = {
        "ro.product.model": p.model, "ro.product.name": p.name, "ro.product.device": p.device,
        "ro.product.brand": p.brand, "ro.product.manufacturer": p.manufacturer,
        "ro.build.version.release": p.release, "ro.build.version.sdk": str(p.sdk),
        "ro.build.version.incremental": p.incremental, "ro.build.id": p.build_id,
        "ro.build.version.security_patch": p.security_patch, "ro.build.type": "user",
        "ro.build.fingerprint": p.fingerprint, "ro.boot.hardware": p.hardware,
        "ro.serialno": (f"R3C{h.seed % 10**8:08d}" if p.brand == "samsung"
                        else f"8A{h.seed % 10**10:010d}"),  # unique within a rack of < 10^8
        "ro.build.characteristics": "phone", "sys.boot_completed": "1",
        "gsm.sim.state": ",".join(sims), "gsm.network.type": ",".join(nets),
        "gsm.operator.alpha": ",".join(ops), "gsm.operator.numeric": ",".join(numeric),
        "gsm.current.phone-type": ",".join("1" for _ in sims),
        "persist.radio.multisim.config": "dsds" if p.slots > 1 else "ss",
        "wifi.interface": "wlan0", "dalvik.vm.heapsize": "512m",
    }
    if p.brand == "samsung":
        props.update({"ro.csc.sales_code": p.sales_code, "ro.csc.country_code": "KOREA"})
    return props


def _slot_state(h, slot: int) -> dict:
    calls = [c for c in h.telecom.calls if c.slot == slot]
    live = [c for c in calls if c.live]
    tops = [c for c in live if c.parent is None]
    ringing = [c for c in tops if c.state == "RINGING"]
    held = [c for c in tops if c.state == "ON_HOLD"]
    fg_calls = [c for c in tops if c.state in ("ACTIVE", "DIALING", "CONNECTING", "DISCONNECTING")]
    if fg_calls:
        fg = fg_calls[-1].precise()
    elif h.telecom.clock.now() - h.telecom.last_fg_end.get(slot, -1e9) < LINGER_S:
        fg = 7
    else:
        fg = 0
    ring = (6 if fg_calls or held else 5) if ringing else 0
    bg = 2 if held else 0
    cs = 1 if ringing else 2 if (fg_calls or held) else 0
    dc, pdc = h.telecom.last_cause[slot]
    if live and not any(c.state == "DISCONNECTED" for c in calls):
        dc, pdc = (0, -1) if dc != -1 else (-1, -1)
    number = ringing[0].number if ringing else ""
    return {"cs": cs, "ring": ring, "fg": fg, "bg": bg, "dc": dc, "pdc": pdc, "number": number,
            "net": 13 if fg_calls or held else 0}


def _service_state(h, slot: int) -> str:
    p = h.profile
    operator, mnc = p.operators[slot] if slot < len(p.operators) else ("", "")
    if not operator:
        return ("{mVoiceRegState=1(OUT_OF_SERVICE), mDataRegState=1(OUT_OF_SERVICE), mChannelNumber=-1, "
                "duplexMode()=0, mCellBandwidths=[], mOperatorAlphaLong=null, mOperatorAlphaShort=null, "
                "isManualNetworkSelection=false(automatic), getRilVoiceRadioTechnology=0(Unknown), "
                "getRilDataRadioTechnology=0(Unknown), mCssIndicator=unsupported, mNetworkId=-1, mSystemId=-1, "
                "mCdmaRoamingIndicator=-1, mCdmaDefaultRoamingIndicator=-1, mIsEmergencyOnly=false, "
                "isUsingCarrierAggregation=false, mLteEarfcnRsrpBoost=0, mNetworkRegistrationInfos=[], "
                "mNrFrequencyRange=0, mOperatorAlphaLongRaw=null, mOperatorAlphaShortRaw=null, "
                "mIsDataRoamingFromRegistration=false, mIsIwlanPreferred=false}")
    nr = "CONNECTED" if p.sdk >= 31 and slot == h.voice_slot else "NONE"
    cell = (f"CellIdentityLte:{{ mCi=*** mPci=*** mTac=*** mEarfcn=1650 mBands=[3] mBandwidth=20000 "
            f"mMcc=450 mMnc={mnc} mAlphaLong={operator} mAlphaShort={operator} mAdditionalPlmns={{}} mCsgInfo=null}}")
    nri = (f"NetworkRegistrationInfo{{ domain=CS transportType=WWAN registrationState=HOME "
           f"roamingType=NOT_ROAMING accessNetworkTechnology=LTE rejectCause=0 emergencyEnabled=false "
           f"availableServices=[VOICE,SMS,VIDEO] cellIdentity={cell} voiceSpecificInfo=VoiceSpecificRegistrationInfo "
           f"{{ mCssSupported=false mRoamingIndicator=0 mSystemIsInPrl=0 mDefaultRoamingIndicator=0}} "
           f"dataSpecificInfo=null nrState=**** rRplmn=450{mnc} isUsingCarrierAggregation=false}}, "
           f"NetworkRegistrationInfo{{ domain=PS transportType=WWAN registrationState=HOME "
           f"roamingType=NOT_ROAMING accessNetworkTechnology=LTE rejectCause=0 emergencyEnabled=false "
           f"availableServices=[DATA] cellIdentity={cell} voiceSpecificInfo=null "
           f"dataSpecificInfo=android.telephony.DataSpecificRegistrationInfo :{{ maxDataCalls = 16 "
           f"isDcNrRestricted = false isNrAvailable = true isEnDcAvailable = true LteVopsSupportInfo :  "
           f"mVopsSupport = 2 mEmcBearerSupport = 2  mIsUsingCarrierAggregation = false }} nrState={nr} "
           f"rRplmn=450{mnc} isUsingCarrierAggregation=false}}")
    rat = "mRilVoiceRadioTechnology=14(LTE), mRilDataRadioTechnology=14(LTE)" if p.sdk < 30 else \
          "getRilVoiceRadioTechnology=14(LTE), getRilDataRadioTechnology=14(LTE)"
    ops = (f"mVoiceOperatorAlphaLong={operator}, mVoiceOperatorAlphaShort={operator}, "
           f"mDataOperatorAlphaLong={operator}, mDataOperatorAlphaShort={operator}") if p.sdk < 30 else \
          f"mOperatorAlphaLong={operator}, mOperatorAlphaShort={operator}"
    return (f"{{mVoiceRegState=0(IN_SERVICE), mDataRegState=0(IN_SERVICE), mChannelNumber=1650, "
            f"duplexMode()=1, mCellBandwidths=[20000], {ops}, isManualNetworkSelection=false(automatic), "
            f"{rat}, mCssIndicator=unsupported, mNetworkId=-1, mSystemId=-1, mCdmaRoamingIndicator=-1, "
            f"mCdmaDefaultRoamingIndicator=-1, mIsEmergencyOnly=false, isUsingCarrierAggregation=false, "
            f"mLteEarfcnRsrpBoost=0, mNetworkRegistrationInfos=[{nri}], mNrFrequencyRange=0, "
            f"mOperatorAlphaLongRaw={operator}, mOperatorAlphaShortRaw={operator}, "
            f"mIsDataRoamingFromRegistration=false, mIsIwlanPreferred=false}}")


def _signal(h, slot: int) -> str:
    p = h.profile
    has_sim = bool(p.operators[slot][0]) if slot < len(p.operators) else False
    level = h.signal if has_sim else 0
    rsrp = {4: -88, 3: -101, 2: -111, 1: -120, 0: 2147483647}[level]
    inv = 2147483647
    lte = (f"rssi={-57 if has_sim else inv} rsrp={rsrp} rsrq={-9 if has_sim else inv} "
           f"rssnr={150 if has_sim else inv} ")
    lte += (f"cqiTableIndex={inv} cqi={inv} ta={inv} level={level} parametersUseForLevel=0"
            if p.sdk >= 31 else f"cqi={inv} ta={inv} level={level}")
    return (f"SignalStrength:{{mCdma=CellSignalStrengthCdma: cdmaDbm={inv} cdmaEcio={inv} evdoDbm={inv} "
            f"evdoEcio={inv} evdoSnr={inv} level=0,mGsm=CellSignalStrengthGsm: rssi={inv} ber={inv} mTa={inv} "
            f"mLevel=0,mWcdma=CellSignalStrengthWcdma: ss={inv} ber={inv} rscp={inv} ecno={inv} level=0,"
            f"mTdscdma=CellSignalStrengthTdscdma: rssi={inv} ber={inv} rscp={inv} level=0,"
            f"mLte=CellSignalStrengthLte: {lte},mNr=CellSignalStrengthNr:{{ csiRsrp = {inv} csiRsrq = {inv} "
            f"csiSinr = {inv} ssRsrp = {inv} ssRsrq = {inv} ssSinr = {inv} level = 0 }},"
            f"primary={'CellSignalStrengthLte' if has_sim else 'CellSignalStrengthCdma'}}}")


def _registry(h) -> str:
    p = h.profile
    out = ["last known state:"]
    states = [_slot_state(h, s) for s in range(p.slots)]
    for slot, st in enumerate(states):
        out.append(f"  Phone Id={slot}")
        precise = ("Ringing call state: %d, Foreground call state: %d, Background call state: %d, "
                   "Disconnect cause: %d, Precise disconnect cause: %d"
                   % (st["ring"], st["fg"], st["bg"], st["dc"], st["pdc"]))
        f = []
        if p.sdk <= 29:
            f += [f"mCallState={st['cs']}", f"mCallIncomingNumber={st['number']}",
                  f"mServiceState={_service_state(h, slot)}", f"mNetworkType={13 if p.operators[slot][0] else 0}"]
        else:
            f += [f"mCallState={st['cs']}", f"mRingingCallState={st['ring']}",
                  f"mForegroundCallState={st['fg']}", f"mBackgroundCallState={st['bg']}",
                  f"mPreciseCallState={precise}", f"mCallDisconnectCause={st['dc']}",
                  f"mCallIncomingNumber={st['number']}", f"mServiceState={_service_state(h, slot)}"]
        f += ["mVoiceActivationState= 0", "mDataActivationState= 0", "mUserMobileDataState= true",
              f"mSignalStrength={_signal(h, slot)}", "mMessageWaiting=false", "mCallForwarding=false",
              "mDataActivity=0", "mDataConnectionState=2"]
        if p.sdk <= 29:
            f += ["mCellLocation=[11290,1802520,-1]", "mCellInfo=null",
                  "mImsCallDisconnectCause=ImsReasonInfo :: {0 : null}"]
        else:
            f += ["mCellIdentity=null" if not p.operators[slot][0] else
                  "mCellIdentity=CellIdentityLte:{ mCi=*** mPci=*** mTac=*** mEarfcn=1650 mBands=[3] "
                  "mBandwidth=20000 mMcc=450 mMnc=05 mAlphaLong=*** mAlphaShort=*** mAdditionalPlmns={} mCsgInfo=null}",
                  "mCellInfo=null", "mImsCallDisconnectCause=ImsReasonInfo :: {0 : null}", "mSrvccState=-1",
                  f"mCallPreciseDisconnectCause={st['pdc']}",
                  "mCallQuality=CallQuality: {downlinkCallQualityLevel=0 uplinkCallQualityLevel=0 callDuration=0 "
                  "numRtpPacketsTransmitted=0 numRtpPacketsReceived=0 numRtpPacketsTransmittedLost=0 "
                  "numRtpPacketsNotReceived=0 averageRelativeJitter=0 maxRelativeJitter=0 averageRoundTripTime=0 "
                  "codecType=0 rtpInactivityDetected=false txSilenceDetected=false rxSilenceDetected=false}"]
            if p.sdk <= 31:
                f.append(f"mCallAttributes=mPreciseCallState={precise} mNetworkType={st['net']} mCallQuality=null"
                         if st["cs"] else "mCallAttributes=null")
            f += [f"mCallNetworkType={st['net']}", "mPreciseDataConnectionStates={}",
                  "mOutgoingCallEmergencyNumber=null", "mOutgoingSmsEmergencyNumber=null",
                  "mBarringInfo=BarringInfo {mCellIdentity=null, mBarringServiceInfos={}}"]
            if p.sdk >= 31:
                f += ["mCarrierNetworkChangeState=false",
                      "mTelephonyDisplayInfo=TelephonyDisplayInfo {network=LTE, override=NR_NSA}" if p.sdk < 34 else
                      "mTelephonyDisplayInfo=TelephonyDisplayInfo {network=LTE, overrideNetwork=NR_NSA, isRoaming=false}",
                      "mIsDataEnabled=true", "mDataEnabledReason=0", "mAllowedNetworkTypeReason=0",
                      "mAllowedNetworkTypeValue=-1", "mPhysicalChannelConfigs=[]",
                      "mLinkCapacityEstimateList=[]"]
            if p.sdk >= 33:
                f += ["mCarrierPrivilegeState=<packages=[], uids=[]>",
                      "mCarrierServiceState=<package=***, uid=10076>"]
        out += ["    " + x for x in f]
    if p.sdk <= 29:
        st = states[h.voice_slot]
        out += ["  mPreciseDataConnectionState=Data Connection state: 2, Network type: 13, APN types: "
                "default,mms,supl,hipri,fota,ims,cbs,ia,dun, APN: lte.sktelecom.com, Link properties: "
                "null, Data fail cause: 0",
                f"  mPreciseCallState=Ringing call state: {st['ring']}, Foreground call state: {st['fg']}, "
                f"Background call state: {st['bg']}, Disconnect cause: {st['dc']}, Precise disconnect cause: {st['pdc']}",
                f"  mCallDisconnectCause={st['dc']}", f"  mCallPreciseDisconnectCause={st['pdc']}",
                "  mCarrierNetworkChangeState=false", f"  mRingingCallState={st['ring']}",
                f"  mForegroundCallState={st['fg']}", f"  mBackgroundCallState={st['bg']}", "  mSrvccState=-1",
                "  mPhoneCapability=null", "  mPreferredDataSubId=1", "  mRadioPowerState=1",
                "  mEmergencyNumberList={}", "  mCallQuality=null", "  mCallAttributes=null"]
    else:
        if p.sdk == 30:
            out.append("  mCarrierNetworkChangeState=false")
        out += ["  mPhoneCapability=null", "  mActiveDataSubId=1", "  mRadioPowerState=1",
                "  mEmergencyNumberList={}", "  mDefaultPhoneId=0", "  mDefaultSubId=1"]
    out += ["local logs:", f"  {time.strftime('%Y-%m-%dT%H:%M:%S')}.000 - notifyCallStateForPhoneId: "
            f"subId=1 phoneId={h.voice_slot} state={states[h.voice_slot]['cs']}"]
    if p.sdk >= 30:
        out += ["listen logs:"]
    out += ["registrations: count=1",
            f"  {{callingPackage={p.incall_package.split('/')[0]} callerUid=10183 binder=android.os.BinderProxy@8f2a1b3 "
            "callback=com.android.internal.telephony.IPhoneStateListener$Stub$Proxy@c12e5e0 "
            "onSubscriptionsChangedListenererCallback=null onOpportunisticSubscriptionsChangedListenererCallback=null "
            f"subId=1 phoneId={h.voice_slot} events=20}}"]
    return "\n".join(out) + "\n"


def _registry_unknown(h) -> str:
    out = ["TelephonyRegistry service state (vendor extended dump v2)"]
    for slot in range(h.profile.slots):
        st = _slot_state(h, slot)
        out += [f"  slot[{slot}]", f"    callState: {('IDLE', 'RINGING', 'OFFHOOK')[st['cs']]}",
                f"    preciseForeground: {st['fg']}", "    incoming: <hidden>"]
    return "\n".join(out) + "\n"


def _call_line(h, c: Call) -> str:
    tpac = "ComponentInfo{com.android.phone/com.android.services.telephony.TelephonyConnectionService}"
    handle = "null" if c.kind == "conference" else "tel:" + "*" * len(re.sub(r"[^0-9#*+]", "", c.number))
    if h.profile.sdk <= 29:
        return (f"[{c.id}, {c.state}, com.android.phone/com.android.services.telephony.TelephonyConnectionService, "
                f"{handle}, A, childs({len(c.children)}), has_parent({str(c.parent is not None).lower()}), "
                "[Capabilities: CAPABILITY_SUPPORT_HOLD CAPABILITY_MUTE], [Properties: PROPERTY_HIGH_DEF_AUDIO]]")
    cap = "[ mrg_cnf hld supHld mut]" if c.kind == "conference" else "[ hld supHld mut !v2a spd dis]"
    return (f"[Call id={c.id}, state={c.state}, tpac={tpac}, ***, UserHandle{{0}}, cmgr=null, handle={handle}, "
            f"vidst=A, childs({len(c.children)}), has_parent({str(c.parent is not None).lower()}), "
            f"cap={cap}, prop=[ hd volte]], voip=false")


def _calls(h) -> str:
    p = h.profile
    out = ["CallsManager: ", "  mCalls: "]
    out += ["    " + _call_line(h, c) for c in h.telecom.calls]
    fg = h.telecom.foreground()
    out += ["  mCallAudioManager:", "    All calls:"] + [f"      {c.id}" for c in h.telecom.calls if c.live]
    out += ["    Active dialing, or connecting calls:"] + [
        f"      {c.id}" for c in h.telecom.calls if c.live and c.state in ("DIALING", "CONNECTING")]
    out += ["    Ringing calls:"] + [f"      {c.id}" for c in h.telecom.calls if c.state == "RINGING"]
    out += ["    Holding calls:"] + [f"      {c.id}" for c in h.telecom.calls if c.state == "ON_HOLD"]
    out += ["    Foreground call:", "    " + (_call_line(h, fg) if fg else "null")]
    out += ["  mTtyManager:", "    mCurrentTtyMode: 0", "  mInCallController:",
            "    mInCallServices (InCalls registered):", f"      ComponentInfo{{{p.incall_package}}}",
            "PhoneAccountRegistrar: ", "  mDefaultOutgoingAccountHandles:",
            "    UserHandle{0}: " + ("null (ask every time)" if h.telecom.asks_for_sim else
                                     "ComponentInfo{com.android.phone/com.android.services.telephony."
                                     "TelephonyConnectionService}, ***, UserHandle{0}"),
            "Analytics: ", "Historical Events:"]
    for c in h.telecom.history:
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(c.created_wall))
        direction = "(MT - incoming)" if c.incoming else "(MO - outgoing)"
        if p.sdk <= 29:
            out.append(f"  Call {c.id} [{when[5:]}.000]{direction}")
            out.append("  \tVia PhoneAccount: ComponentInfo{com.android.phone/com.android.services.telephony."
                       "TelephonyConnectionService}, ***, UserHandle{0}")
        else:
            out.append(f"  Call {c.id} [{when}.000]{direction}(User=UserHandle{{0}})")
            out.append("  \tTarget PhoneAccount: ComponentInfo{com.android.phone/com.android.services.telephony."
                       "TelephonyConnectionService}, ***, UserHandle{0}")
        out.append(f"  \tTo address: tel:{'*' * len(c.number)} Presentation: Allowed")
        for wall, event in c.events:
            if event.startswith("DTMF_RECEIVED"):
                continue
            stamp = time.strftime("%H:%M:%S", time.localtime(wall)) + f".{int(wall * 1000) % 1000:03d}"
            out.append(f"    {stamp} - {event}")
        out += ["    Timings (average for this call, milliseconds):"]
    return "\n".join(out) + "\n"


def _battery(h) -> str:
    p = h.profile
    lines = ["Current Battery Service state:", f"  AC powered: {str(h.charging).lower()}",
             "  USB powered: false", "  Wireless powered: false"]
    if p.sdk >= 34:
        lines.append("  Dock powered: false")
    lines += ["  Max charging current: " + ("1550000" if h.charging else "0"),
              "  Max charging voltage: " + ("9000000" if h.charging else "0"),
              "  Charge counter: 3564000", f"  status: {(5 if h.battery >= 100 else 2) if h.charging else 3}",
              "  health: 2", "  present: true", f"  level: {h.battery}", "  scale: 100",
              "  voltage: 4211", "  temperature: 305", "  technology: Li-ion"]
    if p.brand == "samsung":
        lines += ["  mSecPlugTypeSummary: 1" if h.charging else "  mSecPlugTypeSummary: 0",
                  "  LED Charging: true", "  LED Low Battery: true", "  current now: 640",
                  "  Adaptive Fast Charging Settings: true", "  BATTERY_PROTECTION_THRESHOLD: 85"]
    return "\n".join(lines) + "\n"
