// The dashboard: one HTML document with its script and styles inline (no CDN, no other file),
// plotting /api/dashboard once a second on <canvas> elements. The page keeps what it drew in
// window.vigilDashboard (updates, points, errors) and in #state, for tests.
#include "control/ops.h"

namespace vigil::control {

std::string_view DashboardPage() {
  static constexpr std::string_view kPage = R"HTML(<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<link rel="icon" href="data:,">
<title>vigil</title>
<style>
body{font:14px system-ui,sans-serif;margin:0;background:#0f1419;color:#d8dee9}
header{padding:10px 18px;background:#1b2430;display:flex;gap:24px;align-items:baseline}
header h1{font-size:20px;margin:0;color:#88c0d0}
.grid{display:grid;grid-template-columns:1fr 1fr;gap:14px;padding:14px}
.card{background:#1b2430;border-radius:6px;padding:10px 12px}
.card h2{font-size:14px;margin:0 0 6px;color:#a3be8c}
canvas{width:100%;height:190px;display:block}
table{width:100%;border-collapse:collapse;font-size:13px}
td,th{text-align:left;padding:3px 6px;border-bottom:1px solid #2e3a48}
.legend span{margin-right:12px;font-size:12px}
.ok{color:#a3be8c}.bad{color:#bf616a}
#state{display:none}
</style></head><body>
<header><h1>vigil</h1><span id="summary">connecting…</span></header>
<div class="grid">
 <div class="card"><h2>Tenant CPU share (% of one worker)</h2><canvas id="cpu"></canvas><div class="legend" id="cpu-legend"></div></div>
 <div class="card"><h2>Tenant throughput (Mbit/s)</h2><canvas id="tput"></canvas><div class="legend" id="tput-legend"></div></div>
 <div class="card"><h2>Packets and drops per second</h2><canvas id="pkts"></canvas><div class="legend" id="pkts-legend"></div></div>
 <div class="card"><h2>Alerts per second</h2><canvas id="alerts"></canvas><div class="legend" id="alerts-legend"></div></div>
 <div class="card"><h2>Top signatures</h2><table id="sigs"><tr><th>count</th><th>gid:sid:rev</th><th>message</th></tr></table></div>
 <div class="card"><h2>Reload history</h2><table id="reloads"><tr><th>time</th><th>result</th><th>rules</th><th>seconds</th><th>changes</th></tr></table></div>
</div>
<pre id="state"></pre>
<script>
"use strict";
const COLORS=["#88c0d0","#ebcb8b","#b48ead","#a3be8c","#d08770","#5e81ac","#bf616a","#8fbcbb"];
const state={updates:0,errors:[],points:0,last:null,series:{}};
window.vigilDashboard=state;
window.addEventListener("error",e=>state.errors.push(String(e.message)));
function plot(id,series,unit){
  const c=document.getElementById(id),dpr=window.devicePixelRatio||1;
  const w=c.clientWidth,h=c.clientHeight;
  c.width=w*dpr;c.height=h*dpr;
  const g=c.getContext("2d");g.scale(dpr,dpr);g.clearRect(0,0,w,h);
  let max=0,n=0;
  for(const s of series){for(const v of s.values)max=Math.max(max,v);n=Math.max(n,s.values.length);}
  max=max>0?max*1.15:1;
  const left=48,bottom=18,pw=w-left-6,ph=h-bottom-6;
  g.strokeStyle="#2e3a48";g.fillStyle="#7b8794";g.font="11px sans-serif";
  for(let i=0;i<=4;i++){const y=6+ph*i/4;g.beginPath();g.moveTo(left,y);g.lineTo(left+pw,y);g.stroke();
    g.fillText(fmt(max*(1-i/4)),2,y+4);}
  g.fillText("-"+Math.max(n-1,0)+" s",left,h-4);g.fillText("now",left+pw-22,h-4);
  series.forEach((s,k)=>{
    g.strokeStyle=s.color||COLORS[k%COLORS.length];g.lineWidth=1.8;g.beginPath();
    s.values.forEach((v,i)=>{const x=left+(n<=1?pw:pw*(i+(n-s.values.length))/(n-1));
      const y=6+ph*(1-v/max);i?g.lineTo(x,y):g.moveTo(x,y);});
    g.stroke();});
  const lg=document.getElementById(id+"-legend");
  lg.innerHTML="";
  series.forEach((s,k)=>{const e=document.createElement("span");
    e.style.color=s.color||COLORS[k%COLORS.length];
    const last=s.values.length?s.values[s.values.length-1]:0;
    e.textContent="\u25A0 "+s.name+" "+fmt(last)+(unit||"");lg.appendChild(e);});
}
function fmt(v){if(v>=1e9)return (v/1e9).toFixed(1)+"G";if(v>=1e6)return (v/1e6).toFixed(1)+"M";
  if(v>=1e3)return (v/1e3).toFixed(1)+"k";return v>=10?v.toFixed(0):v.toFixed(v?2:0);}
function row(t,cells){const r=t.insertRow();for(const c of cells){const d=r.insertCell();
  if(c instanceof Node)d.appendChild(c);else d.textContent=c;}return r;}
function render(d){
  const S=d.samples.slice(-120);
  const names=[...new Set(S.flatMap(p=>(p.tenants||[]).map(t=>t.name)))];
  const tenantSeries=(key,scale)=>names.map(n=>({name:n,values:S.map(p=>{
    const t=(p.tenants||[]).find(x=>x.name===n);return t?t[key]*scale:0;})}));
  plot("cpu",tenantSeries("cpu",100),"%");
  plot("tput",tenantSeries("bps",1e-6),"");
  plot("pkts",[{name:"packets/s",values:S.map(p=>p.packets)},
    {name:"kernel drops/s",values:S.map(p=>p.kernel_drops),color:"#bf616a"},
    {name:"overload drops/s",values:S.map(p=>p.overload_drops),color:"#d08770"},
    {name:"rule drops/s",values:S.map(p=>p.verdict_drops),color:"#ebcb8b"},
    {name:"tenant drops/s",values:S.map(p=>p.tenant_drops),color:"#b48ead"}],"");
  plot("alerts",[{name:"alerts/s",values:S.map(p=>p.alerts),color:"#ebcb8b"}],"");
  const sigs=document.getElementById("sigs");while(sigs.rows.length>1)sigs.deleteRow(1);
  for(const s of d.top_signatures)row(sigs,[String(s.count),s.gid+":"+s.sid+":"+s.rev,s.msg]);
  const rl=document.getElementById("reloads");while(rl.rows.length>1)rl.deleteRow(1);
  for(const r of d.reloads.slice(-8).reverse()){
    const res=document.createElement("span");res.className=r.ok?"ok":"bad";
    res.textContent=r.ok?"ok":"failed: "+r.error;
    const ch=r.changes?("+"+r.changes.rules.added+" −"+r.changes.rules.removed+" ~"+r.changes.rules.changed):"";
    row(rl,[new Date(r.time*1000).toLocaleTimeString(),res,String(r.rules),r.seconds.toFixed(2),ch]);}
  const last=S.length?S[S.length-1]:null;
  document.getElementById("summary").textContent=
    `${d.version} · ${d.inline?"inline":"IDS"} on ${d.interfaces.join(", ")} · ${d.workers} worker(s) · `+
    `${d.rules} rules · ${d.alerts} alerts · up ${Math.round(d.uptime_s)} s`+
    (last?` · ${fmt(last.packets)} pkt/s`:"");
  state.updates++;state.points=S.length;state.last=last;
  state.series={packets:S.map(p=>p.packets),tenants:names};
  document.getElementById("state").textContent=JSON.stringify({updates:state.updates,
    points:state.points,last_t:last?last.t:0,packets:state.series.packets,tenants:names,
    errors:state.errors});
}
async function tick(){
  try{const r=await fetch("/api/dashboard",{cache:"no-store"});
    if(!r.ok)throw new Error("HTTP "+r.status);render(await r.json());}
  catch(e){document.getElementById("summary").textContent="no answer from vigil: "+e.message;}
}
tick();setInterval(tick,1000);
</script></body></html>
)HTML";
  return kPage;
}

}  // namespace vigil::control
