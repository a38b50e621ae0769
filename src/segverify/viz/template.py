"""The HTML page of the audit report: skeleton, style, and the words in Japanese and English.

Kept as Python strings (not a package data file) so the report works from any install without
extra files. The page loads nothing: the Content-Security-Policy forbids every fetch except the
pictures embedded as data: URIs, and runs only the interactive map's script (allowed by its hash),
so it opens offline and cannot call out.
"""

from __future__ import annotations

from string import Template

PAGE = Template("""<!DOCTYPE html>
<html lang="$lang">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src data:; style-src 'unsafe-inline'; script-src $script">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="segverify $version">
<title>$title</title>
<style>
$css
</style>
</head>
<body>
$body
</body>
</html>
""")

CSS = """
:root { --red: #c62828; --orange: #d97800; --green: #2e7d32; --grey: #5f6b76; --line: #d5dbe1; }
* { box-sizing: border-box; }
body { font-family: "Noto Sans CJK JP", "IPAexGothic", "Hiragino Sans", "Yu Gothic", "Meiryo", sans-serif;
       margin: 0 auto; max-width: 1200px; padding: 24px 32px 64px; color: #1d252c; line-height: 1.55;
       font-size: 14px; }
h1 { font-size: 24px; margin: 0 0 4px; }
h2 { font-size: 19px; margin: 36px 0 10px; padding-bottom: 4px; border-bottom: 2px solid var(--line); }
h3 { font-size: 15px; margin: 20px 0 6px; }
code, .mono { font-family: "DejaVu Sans Mono", "Noto Sans Mono CJK JP", monospace; font-size: 12.5px; }
table { border-collapse: collapse; width: 100%; margin: 8px 0 16px; }
th, td { border: 1px solid var(--line); padding: 4px 8px; text-align: left; vertical-align: top; }
th { background: #f1f4f7; font-weight: 600; }
.meta { color: var(--grey); margin: 0 0 16px; }
.verdict { display: flex; gap: 18px; align-items: center; padding: 14px 18px; border-radius: 8px;
           margin: 12px 0 8px; border: 2px solid; }
.verdict .word { font-size: 26px; font-weight: 700; }
.verdict.pass { border-color: var(--green); background: #edf7ee; color: var(--green); }
.verdict.fail { border-color: var(--red); background: #fdeeee; color: var(--red); }
.verdict .counts { color: #1d252c; }
figure { margin: 8px 0 16px; }
figure img { max-width: 100%; height: auto; border: 1px solid var(--line); background: white; }
figcaption { color: var(--grey); font-size: 12.5px; }
.finding { border: 1px solid var(--line); border-left: 6px solid var(--red); border-radius: 6px;
           padding: 10px 14px; margin: 12px 0; }
.finding.warning { border-left-color: var(--orange); }
.finding.suppressed { border-left-color: #9aa3ad; background: #fafbfc; }
.finding h3 { margin-top: 0; }
.badge { display: inline-block; padding: 1px 7px; border-radius: 10px; font-size: 12px; font-weight: 700;
         color: white; background: var(--red); margin-right: 6px; }
.badge.warning { background: var(--orange); }
.badge.suppressed, .badge.none { background: #7d8893; }
.badge.allowed { background: #5b8fc7; }
.badge.sanitized { background: #b08300; }
.badge.exception { background: var(--orange); }
.badge.violation { background: var(--red); }
.badge.active { background: var(--green); }
.badge.expired, .badge.incomplete { background: var(--red); }
.badge.unused { background: var(--orange); }
dl.kv { display: grid; grid-template-columns: max-content 1fr; gap: 2px 14px; margin: 6px 0; }
dl.kv dt { color: var(--grey); }
dl.kv dd { margin: 0; }
ol.path { margin: 4px 0; padding-left: 22px; }
ol.path li { margin: 2px 0; }
.small { font-size: 12.5px; color: var(--grey); }
ul.tight { margin: 4px 0; padding-left: 20px; }
details.town { margin: 4px 0; } details.town summary { cursor: pointer; font-weight: 600; }
@media print { body { max-width: none; padding: 0; } h2 { break-after: avoid; } .finding { break-inside: avoid; } }
"""

def _table(lang: str, prefix: str) -> dict[str, str]:
    from ..i18n import catalogue

    return {k[len(prefix):]: v for k, v in catalogue(lang).items() if k.startswith(prefix)}


# The words of the page, from the message catalogue (segverify.i18n): report.*, status.*, crossing.*
WORDS: dict[str, dict[str, str]] = {lang: _table(lang, "report.") for lang in ("ja", "en")}
STATUS = {lang: _table(lang, "status.") for lang in ("ja", "en")}
CROSSING = {lang: _table(lang, "crossing.") for lang in ("ja", "en")}

# The method statement: what a green verdict proves and what it does not. Plain HTML, no user data.
METHOD = {
    "ja": """
<p>segverify はトポロジ定義 (YAML) から各機器の経路表・ACL・アドレス変換・無害化装置の宣言を読み取り、
<strong>ヘッダ空間の到達可能性</strong>を計算した。サンプリングや試験パケットではなく、次のヘッダ項目の
<strong>すべての組合せ</strong>を同時に扱う。</p>
<ul>
<li>送信元・宛先 IPv4 アドレス (各端点が送信しうる全アドレス。接続されたサブネットのアドレスはすべて送信元になりうる: 定義に機器のないアドレスは、その LAN のプール (<code>lan:LAN</code>、宣言されたものは <code>pool:名前</code>) が送受信する。外部ノードは represents の範囲から庁内で使用中のアドレスと庁内 LAN のサブネットを除いたもの)</li>
<li>送信元アドレスの詐称: 各ホストは自身のサブネットの任意のアドレスを送信元にできるものとして扱う (rp_filter のない Linux の動作。同一サブネット内の詐称はルータの逆経路フィルタでも止まらない)</li>
<li>プロトコル番号 (0–255)、TCP/UDP/SCTP の送信元・宛先ポート (0–65535)</li>
<li>TCP の新規接続 (SYN) と確立済み通信の区別。端点は新規の通信のみを開始するものとし、ステートフルな ACL は許可した通信の戻りを通す</li>
</ul>
<p>各指摘には、実際に通過する具体的なパケット (証拠パケット)、機器ごとの経路、および通過を許した ACL 行 (ファイル:行) を示した。
規則とその根拠は情報セキュリティ基本方針 6(3)①②③ および定義 2(8)–2(12) による。</p>
<p><strong>範囲外</strong> (この報告書が保証しないこと):</p>
<ul>
<li>IPv6 (定義ファイルは IPv4 のみ)</li>
<li>アプリケーション層の内容 (無害化の品質、メール本文・ファイルの中身、暗号化通信の中身)</li>
<li>ARP・VLAN ホッピング等のレイヤ2攻撃</li>
<li>サブネットを越える送信元アドレスの詐称 (自サブネット内の詐称は検証に含む)</li>
<li>タイミング・状態遷移 (障害時の切替えや設定変更の途中状態)。障害の影響は別途 what-if で確認すること</li>
<li>定義ファイルと実機設定の一致 (定義が実機を正しく表していることは別途確認が必要)</li>
</ul>
""",
    "en": """
<p>segverify read the topology (YAML): every device's routes, ACLs, address translation and sanitizer
declarations, and computed <strong>header-space reachability</strong>. It does not sample or send test
packets: it covers <strong>every combination</strong> of these header fields at once:</p>
<ul>
<li>source and destination IPv4 address (every address each endpoint can send from; every address of a connected subnet can send: an address no device in the topology owns is sent and received by its LAN's pool, <code>lan:LAN</code>, or a declared <code>pool:NAME</code>; an external node sends from its <code>represents</code> set less the addresses and LAN subnets used inside)</li>
<li>source address spoofing: a host may send with any source address of its own subnet (what Linux does without rp_filter; a router's reverse-path filter cannot stop spoofing within the subnet)</li>
<li>IP protocol (0–255), and source and destination ports (0–65535) for TCP, UDP and SCTP</li>
<li>TCP new connections (SYN) versus established traffic: endpoints start new flows only; a stateful ACL lets the answers of permitted flows back</li>
</ul>
<p>Each finding shows a concrete packet that gets through (the witness), its hop-by-hop path and the
ACL lines (file:line) that let it through. The rules rest on the basic information-security policy,
clause 6(3)①②③ and definitions 2(8)–2(12).</p>
<p><strong>Out of scope</strong> (not proven by this report):</p>
<ul>
<li>IPv6 (the topology format is IPv4 only)</li>
<li>application content (the quality of sanitization, mail bodies and files, the content of encrypted traffic)</li>
<li>ARP, VLAN hopping and other layer-2 attacks</li>
<li>source address spoofing beyond the sender's own subnet (spoofing within it is verified)</li>
<li>timing and transient states (fail-over, configuration changes in progress); check failures with what-if runs</li>
<li>whether the topology matches the devices' running configuration (to be confirmed separately)</li>
</ul>
""",
}

CLAUSE_EN = (("基本方針", "basic policy"), ("定義", "definitions"), ("監査・自己点検", "audit, self-inspection"),
             ("技術的セキュリティ", "technical security"))
CLAUSE_JA = ((": model completeness", " モデルの完全性"),)
