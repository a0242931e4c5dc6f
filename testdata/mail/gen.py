#!/usr/bin/env python3
"""Regenerate the vendor-reply corpus in this directory.

    python3 testdata/mail/gen.py

Every message answers the overview notice
    Subject:    [JVNVU#12345678] 脆弱性概要情報 / Vulnerability overview
    Message-ID: <ov.JVNVU12345678.acme.1@cert.example>
and imitates one mail client. Messages are built with Python's email package
(legacy compat32 API, which writes ISO-2022-JP through email.charset the way
Japanese clients do) and, for Shift_JIS, Windows-31J and EUC-JP bodies, with
iconv; only structure a library cannot produce (Outlook's HTML, format=flowed)
is written out by hand. Output is deterministic: fixed dates, Message-IDs and
MIME boundaries, CRLF line ends as on the wire.

expect.json lists what the robot must read from each file; it is written by
hand here (EXPECT), next to the message it describes, and checked by
mailbot/open/corpus_test.go.

bounce-postfix.eml is not generated: it is a real Postfix DSN captured with
testdata/mailservers.sh (see capture_postfix_bounce below) and kept as is.
"""

import base64
import email.charset
import email.policy
import json
import os
import subprocess
import sys
from email.header import Header
from email.mime.multipart import MIMEMultipart
from email.mime.nonmultipart import MIMENonMultipart
from email.mime.text import MIMEText

HERE = os.path.dirname(os.path.abspath(__file__))
POLICY = email.policy.compat32.clone(linesep="\r\n")

NOTICE_ID = "<ov.JVNVU12345678.acme.1@cert.example>"
NOTICE_SUBJECT = "[JVNVU#12345678] 脆弱性概要情報 / Vulnerability overview"
ROBOT = "JPCERT/CC <vultures@cert.example>"
TEMPLATE = "詳細情報の請求 / Request detail: yes | no   (はい / いいえ)"

# The overview notice as the robot sent it (what vendors quote).
NOTICE = f"""ACME Corporation 御中 / Dear ACME Corporation,

JPCERT/CC です。貴社製品に影響する可能性のある脆弱性の報告を受けました。
JPCERT/CC has received a vulnerability report that may affect your products.

案件 / Case: JVNVU#12345678
概要 / Overview: 組込み Web サーバにおけるパストラバーサル
                 Path traversal in an embedded web server

該当する製品をお持ちの可能性がある場合は詳細情報を請求してください。
該当製品がない場合は「いいえ」とお答えください。
If you may be affected, please request the detail; if you have no such
product, please answer "no".

{TEMPLATE}

-- 
JPCERT/CC <vultures@cert.example>"""

EXPECT = {}


def expect(name, **kw):
    e = {
        "case_id": "JVNVU#12345678",
        "answer": "none",
        "auto_reply": False,
        "bounce": False,
        "from": "",
        "from_count": 1,
        "charset_problem": False,
    }
    e.update(kw)
    EXPECT[name] = e


def quoted(text, marker="> "):
    return "\n".join((marker + l).rstrip() if l else marker.rstrip() for l in text.split("\n"))


def crlf(s):
    return s.replace("\r\n", "\n").replace("\n", "\r\n")


def iconv(text, to):
    return subprocess.run(["iconv", "-f", "UTF-8", "-t", to], input=text.encode("utf-8"),
                          check=True, capture_output=True).stdout


def word(raw, charset):
    """One RFC 2047 B-encoded word of already-encoded bytes."""
    return "=?%s?B?%s?=" % (charset, base64.b64encode(raw).decode("ascii"))


def words(text, charset, iconv_name):
    """RFC 2047 words short enough to share a line with the field name
    (RFC 2047 allows 75 characters), split between characters
    (never inside a multi-byte one), as Japanese clients write them."""
    out, chunk = [], ""
    for ch in text:
        if len(word(iconv(chunk + ch, iconv_name), charset)) > 64:
            out.append(word(iconv(chunk, iconv_name), charset))
            chunk = ""
        chunk += ch
    if chunk:
        out.append(word(iconv(chunk, iconv_name), charset))
    return " ".join(out)


def write(name, msg):
    data = msg if isinstance(msg, bytes) else msg.as_bytes(policy=POLICY)
    with open(os.path.join(HERE, name), "wb") as f:
        f.write(data)


def common(msg, frm, subject, date, msgid, to="JPCERT/CC <vultures@cert.example>", refs=True):
    msg["From"] = frm
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = date
    msg["Message-ID"] = msgid
    if refs:
        msg["In-Reply-To"] = NOTICE_ID
        msg["References"] = NOTICE_ID


def reorder(msg, first):
    """Move the named headers to the top, as the client writes them."""
    saved = [(k, v) for k, v in msg.items()]
    for k in set(k for k, _ in saved):
        del msg[k]
    for k in first:
        for kk, v in saved:
            if kk.lower() == k.lower():
                msg[kk] = v
    for kk, v in saved:
        if kk.lower() not in [f.lower() for f in first]:
            msg[kk] = v


def flowed(text, width=72):
    """RFC 3676 format=flowed: soft breaks end in a space, space-stuffing."""
    out = []
    for line in text.split("\n"):
        depth = len(line) - len(line.lstrip(">"))
        prefix = ">" * depth
        body = line[depth:]
        if depth:
            body = body[1:] if body.startswith(" ") else body
            prefix += " "
        if line == "-- ":
            out.append(line)
            continue
        while len(prefix + body) > width and " " in body[: width - len(prefix)]:
            cut = body.rfind(" ", 0, width - len(prefix)) + 1
            out.append(stuff(prefix, body[:cut]))
            body = body[cut:]
        out.append(stuff(prefix, body))
    return "\n".join(out)


def stuff(prefix, body):
    if not prefix and (body.startswith(" ") or body.startswith(">") or body.startswith("From ")):
        body = " " + body
    return prefix + body


# ---------------------------------------------------------------- clients


def thunderbird_flowed():
    """Thunderbird: UTF-8, format=flowed, bottom-posted under a "> " quote."""
    body = (
        "On 2025/01/06 10:00, JPCERT/CC wrote:\n" + quoted(NOTICE) + "\n\n"
        "詳細情報の請求 / Request detail: yes\n\n"
        "We have checked our product line and believe that the ACME Web Server 3.x series "
        "may be affected. Please send the detail encrypted to the PSIRT key we registered.\n\n"
        "-- \nHanako Sato\nACME PSIRT\n"
    )
    raw = crlf(flowed(body)).encode("utf-8")
    msg = MIMENonMultipart("text", "plain", charset="UTF-8", format="flowed")
    msg.set_payload(raw.decode("ascii", "surrogateescape"))
    msg["Content-Language"] = "en-US"
    msg["Content-Transfer-Encoding"] = "8bit"
    msg["Message-ID"] = "<4b0f9c7e-2a51-4c1e-9d3b-5a2f1e8c7d10@acme.example>"
    msg["Date"] = "Mon, 6 Jan 2025 14:12:03 +0900"
    msg["User-Agent"] = "Mozilla Thunderbird"
    msg["Subject"] = Header("Re: " + NOTICE_SUBJECT, "utf-8")
    msg["To"] = ROBOT
    msg["References"] = NOTICE_ID
    msg["From"] = "Hanako Sato <psirt@acme.example>"
    msg["In-Reply-To"] = NOTICE_ID
    reorder(msg, ["Message-ID", "Date", "MIME-Version", "User-Agent", "Subject", "To", "References",
                  "Content-Language", "From", "In-Reply-To", "Content-Type", "Content-Transfer-Encoding"])
    write("thunderbird-flowed.eml", msg)
    expect("thunderbird-flowed.eml", answer="yes", **{"from": "psirt@acme.example"})


OUTLOOK_HTML_HEAD = """<html xmlns:v="urn:schemas-microsoft-com:vml" xmlns:o="urn:schemas-microsoft-com:office:office" xmlns:w="urn:schemas-microsoft-com:office:word" xmlns:m="http://schemas.microsoft.com/office/2004/12/omml" xmlns="http://www.w3.org/TR/REC-html40">
<head>
<meta http-equiv="Content-Type" content="text/html; charset=%s">
<meta name="Generator" content="Microsoft Word 15 (filtered medium)">
<style><!--
/* Font Definitions */
@font-face
	{font-family:"Cambria Math";
	panose-1:2 4 5 3 5 4 6 3 2 4;}
p.MsoNormal, li.MsoNormal, div.MsoNormal
	{margin:0mm;
	font-size:11.0pt;
	font-family:"Calibri",sans-serif;}
--></style><!--[if gte mso 9]><xml>
<o:shapedefaults v:ext="edit" spidmax="1026" />
</xml><![endif]-->
</head>
<body lang="EN-US" link="#0563C1" vlink="#954F72" style="word-wrap:break-word">
<div class="WordSection1">
"""


def outlook_paras(text):
    """Outlook's Word HTML: one MsoNormal paragraph per line."""
    out = []
    for line in text.split("\n"):
        if not line.strip():
            out.append('<p class="MsoNormal"><o:p>&nbsp;</o:p></p>')
        else:
            esc = line.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            out.append('<p class="MsoNormal">%s<o:p></o:p></p>' % esc)
    return "\n".join(out)


def outlook_header_block(frm, sent, to, subject, labels=("From", "Sent", "To", "Subject")):
    esc = lambda s: s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return (
        '<div style="border:none;border-top:solid #E1E1E1 1.0pt;padding:3.0pt 0mm 0mm 0mm">\n'
        '<p class="MsoNormal"><b>%s:</b> %s <br>\n<b>%s:</b> %s<br>\n<b>%s:</b> %s<br>\n<b>%s:</b> %s<o:p></o:p></p>\n</div>\n'
        % (labels[0], esc(frm), labels[1], esc(sent), labels[2], esc(to), labels[3], esc(subject))
    )


def outlook_html_only():
    """Outlook (Microsoft 365) sending HTML only; the original follows its
    From/Sent/To/Subject block without any ">" marks."""
    html = (
        OUTLOOK_HTML_HEAD % "utf-8"
        + outlook_paras("Hello JPCERT/CC team,\n\nRequest detail: Yes\n\nOur embedded web server is used in several ACME products.\n\nBest regards,\nJohn Smith\nACME Product Security\n")
        + "\n<div>\n"
        + outlook_header_block(ROBOT, "Monday, January 6, 2025 10:00 AM", "psirt@acme.example", NOTICE_SUBJECT)
        + "</div>\n"
        + outlook_paras(NOTICE)
        + "\n</div>\n</body>\n</html>\n"
    )
    cs = email.charset.Charset("utf-8")
    cs.body_encoding = email.charset.QP
    msg = MIMEText(html, "html", cs)
    common(msg, "John Smith <psirt@acme.example>", "RE: " + NOTICE_SUBJECT, "Mon, 6 Jan 2025 03:21:45 +0000",
           "<SN7PR11MB6750A1B2C3D4E5F6A7B8C9D0E1F2A@SN7PR11MB6750.namprd11.prod.outlook.com>")
    msg.replace_header("Subject", Header("RE: " + NOTICE_SUBJECT, "utf-8"))
    msg["Thread-Topic"] = Header(NOTICE_SUBJECT, "utf-8")
    msg["Thread-Index"] = "AQHbYA0b3Zp0mYyZk0m7Yx1c1n7Vw7KxYzHg"
    msg["Accept-Language"] = "en-US"
    msg["Content-Language"] = "en-US"
    msg["X-MS-Has-Attach"] = ""
    msg["X-MS-TNEF-Correlator"] = ""
    msg["X-Mailer"] = "Microsoft Outlook 16.0"
    write("outlook-html-only.eml", msg)
    expect("outlook-html-only.eml", answer="yes", text_from_html=True, **{"from": "psirt@acme.example"})


def outlook_alternative_aw():
    """German Outlook: multipart/alternative (UTF-8 plain, ISO-8859-1 HTML,
    quoted-printable), ISO-8859-1 name, "AW:" subject,
    "-----Original Message-----" then the unquoted original."""
    plain = (
        "Hallo,\n\nRequest detail: no\n\nWir haben kein Produkt mit diesem Webserver. Danke für die Information.\n\n"
        "Mit freundlichen Grüßen\nJürgen Müller\nBeta GmbH PSIRT\n\n"
        "-----Original Message-----\nFrom: JPCERT/CC <vultures@cert.example> \nSent: Monday, January 6, 2025 2:00 AM\n"
        "To: psirt@beta.example\nSubject: " + NOTICE_SUBJECT + "\n\n" + NOTICE + "\n"
    )
    html = (
        OUTLOOK_HTML_HEAD % "iso-8859-1"
        + outlook_paras("Hallo,\n\nRequest detail: no\n\nWir haben kein Produkt mit diesem Webserver. Danke für die Information.\n\nMit freundlichen Grüßen\nJürgen Müller\nBeta GmbH PSIRT\n")
        + '\n<p class="MsoNormal">-----Original Message-----<br>\n<b>From:</b> JPCERT/CC &lt;vultures@cert.example&gt; <br>\n<b>Sent:</b> Monday, January 6, 2025 2:00 AM<br>\n<b>To:</b> psirt@beta.example<br>\n<b>Subject:</b> [JVNVU#12345678] &#33030;&#24369;&#24615;&#27010;&#35201;&#24773;&#22577; / Vulnerability overview<o:p></o:p></p>\n'
        + outlook_paras(NOTICE.encode("ascii", "xmlcharrefreplace").decode("ascii"))
        + "\n</div>\n</body>\n</html>\n"
    )
    latin = email.charset.Charset("iso-8859-1")
    latin.body_encoding = email.charset.QP
    msg = MIMEMultipart("alternative", boundary="_000_AM0PR04MB1234ABCDEF_")
    # The quoted original has Japanese, so Outlook writes the plain part in UTF-8.
    utf8qp = email.charset.Charset("utf-8")
    utf8qp.body_encoding = email.charset.QP
    msg.attach(MIMEText(plain, "plain", utf8qp))
    # Outlook's HTML is ASCII with character references for what Latin-1 lacks.
    msg.attach(MIMEText(html.replace("ü", "&uuml;").replace("ß", "&szlig;"), "html", latin))
    msg["From"] = Header("Jürgen Müller", "iso-8859-1").encode() + " <psirt@beta.example>"
    msg["To"] = ROBOT
    msg["Subject"] = Header("AW: " + NOTICE_SUBJECT, "utf-8")
    msg["Thread-Topic"] = Header(NOTICE_SUBJECT, "utf-8")
    msg["Thread-Index"] = "AQHbYBZ0kUeX0lM2eUqJwBv8aD5oUrKxZp9A"
    msg["Date"] = "Mon, 6 Jan 2025 09:47:12 +0000"
    msg["Message-ID"] = "<AM0PR04MB1234F1E2D3C4B5A6978877665544AB@AM0PR04MB1234.eurprd04.prod.outlook.com>"
    msg["References"] = NOTICE_ID
    msg["In-Reply-To"] = NOTICE_ID
    msg["Accept-Language"] = "de-DE, en-US"
    msg["Content-Language"] = "de-DE"
    msg["X-MS-Has-Attach"] = ""
    msg["X-Mailer"] = "Microsoft Outlook 16.0"
    write("outlook-alternative-aw.eml", msg)
    expect("outlook-alternative-aw.eml", answer="no", **{"from": "psirt@beta.example"})


def gmail_on_wrote():
    """Gmail: multipart/alternative, top-posted, "On ... wrote:" and ">" quote
    in the plain part, blockquote.gmail_quote in the HTML part."""
    plain = (
        "Request detail: yes\n\nThanks. We use that web server in two products; please send the detail.\n\n"
        "Ken Ito\nGamma Security Team\n\n"
        "On Mon, Jan 6, 2025 at 10:00 AM JPCERT/CC <vultures@cert.example>\nwrote:\n\n" + quoted(NOTICE) + "\n"
    )
    esc = lambda s: s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\n", "<br>\n")
    html = (
        '<div dir="ltr"><div>Request detail: yes</div><div><br></div><div>Thanks. We use that web server in two products; please send the detail.</div>'
        '<div><br></div><div>Ken Ito</div><div>Gamma Security Team</div></div><br><div class="gmail_quote gmail_quote_container">'
        '<div dir="ltr" class="gmail_attr">On Mon, Jan 6, 2025 at 10:00 AM JPCERT/CC &lt;<a href="mailto:vultures@cert.example">vultures@cert.example</a>&gt; wrote:<br></div>'
        '<blockquote class="gmail_quote" style="margin:0px 0px 0px 0.8ex;border-left:1px solid rgb(204,204,204);padding-left:1ex">'
        + esc(NOTICE) + "</blockquote></div>\n"
    )
    utf8qp = email.charset.Charset("utf-8")
    utf8qp.body_encoding = email.charset.QP
    msg = MIMEMultipart("alternative", boundary="000000000000a1b2c3062b7c3d4e")
    msg.attach(MIMEText(plain, "plain", utf8qp))
    msg.attach(MIMEText(html, "html", utf8qp))
    msg["Received"] = "by mail-lf1-f41.google.com with SMTP id 2adb3069b0e04-5401c52000aso3713474e87.2; Sun, 05 Jan 2025 17:30:11 -0800 (PST)"
    common(msg, "Ken Ito <secteam@gamma.example>", Header("Re: " + NOTICE_SUBJECT, "utf-8"),
           "Mon, 6 Jan 2025 10:30:02 +0900", "<CAF4x9bYp1k3G0nT8Jq2w5Q=Zx7vRr+Lm2d8sK4u@mail.gmail.com>")
    write("gmail-on-wrote.eml", msg)
    expect("gmail-on-wrote.eml", answer="yes", **{"from": "secteam@gamma.example"})


def iso2022jp_henshin():
    """Japanese client (Becky!-style): ISO-2022-JP 7bit, RFC 2047 subject
    with "返信:", top-posted full-width colon answer."""
    body = (
        "JPCERT/CC\nご担当者様\n\nお世話になっております。ACME の佐藤です。\n\n"
        "詳細情報の請求：はい\n\n弊社製品 ACME Router シリーズが該当する可能性があります。\n詳細情報をお送りください。\n\n"
        "On Mon, 06 Jan 2025 10:00:00 +0900\nJPCERT/CC <vultures@cert.example> wrote:\n\n" + quoted(NOTICE) + "\n\n"
        "--\n佐藤 花子 / ACME PSIRT\n"
    )
    msg = MIMEText(body, "plain", "iso-2022-jp")
    common(msg, Header("佐藤 花子", "iso-2022-jp").encode() + " <psirt@acme.example>",
           Header("返信: " + NOTICE_SUBJECT, "iso-2022-jp"), "Mon, 06 Jan 2025 11:05:40 +0900",
           "<20250106110540.8C2E.A1B2C3D4@acme.example>")
    msg["X-Mailer"] = "Becky! ver. 2.81.04 [ja]"
    write("iso2022jp-henshin.eml", msg)
    expect("iso2022jp-henshin.eml", answer="yes", **{"from": "psirt@acme.example"})


def japanese_8bit(name, charset, iconv_name, cte, body, subject, mailer, frm, answer, msgid):
    raw = iconv(body, iconv_name)
    msg = MIMENonMultipart("text", "plain", charset=charset)
    if cte == "base64":
        msg.set_payload(base64.encodebytes(crlf_bytes(raw)).decode("ascii"))
    else:
        msg.set_payload(crlf_bytes(raw).decode("ascii", "surrogateescape"))
    msg["Content-Transfer-Encoding"] = cte
    name_part, addr = frm
    common(msg, words(name_part, charset, iconv_name) + " <" + addr + ">",
           words(subject, charset, iconv_name), "Tue, 07 Jan 2025 09:15:00 +0900", msgid)
    msg["X-Mailer"] = mailer
    write(name, msg)
    expect(name, answer=answer, **{"from": addr})


def crlf_bytes(b):
    return b.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def fullwidth_subject():
    """Outlook for Mac, subject retyped with an IME: 【ＪＶＮＶＵ＃１２３４５６７８】,
    full-width answer."""
    body = "詳細情報の請求／Request detail：ｙｅｓ\n\nよろしくお願いします。\n山本\n\n" + quoted(NOTICE) + "\n"
    utf8qp = email.charset.Charset("utf-8")
    utf8qp.body_encoding = email.charset.QP
    msg = MIMEText(body, "plain", utf8qp)
    common(msg, Header("山本 一郎", "utf-8").encode() + " <psirt@acme.example>",
           Header("Re: 【ＪＶＮＶＵ＃１２３４５６７８】脆弱性概要情報", "utf-8"),
           "Tue, 07 Jan 2025 13:02:10 +0900", "<7E1C2B3A-4D5E-4F60-8A9B-0C1D2E3F4A5B@acme.example>")
    msg["User-Agent"] = "Microsoft-MacOutlook/16.92.24120731"
    msg["Thread-Topic"] = Header("【ＪＶＮＶＵ＃１２３４５６７８】脆弱性概要情報", "utf-8")
    write("fullwidth-subject.eml", msg)
    expect("fullwidth-subject.eml", answer="yes", **{"from": "psirt@acme.example"})


def iphone_base64():
    """Apple Mail on iOS: UTF-8 base64, "Sent from my iPhone", quote below."""
    body = ("Request detail: Yes\n\nSent from my iPhone\n\n"
            "> On Jan 6, 2025, at 10:00, JPCERT/CC <vultures@cert.example> wrote:\n>\n" + quoted(NOTICE) + "\n")
    msg = MIMENonMultipart("text", "plain", charset="utf-8")
    msg.set_payload(base64.encodebytes(crlf(body).encode("utf-8")).decode("ascii"))
    msg["Content-Transfer-Encoding"] = "base64"
    common(msg, "Taro Suzuki <psirt@acme.example>", Header("Re: " + NOTICE_SUBJECT, "utf-8"),
           "Mon, 6 Jan 2025 19:44:21 +0900", "<8F2A1C3E-5B7D-4E9F-A1B3-C5D7E9F1A3B5@acme.example>")
    del msg["MIME-Version"]
    msg["Mime-Version"] = "1.0 (1.0)"
    msg["X-Mailer"] = "iPhone Mail (22C152)"
    write("iphone-base64.eml", msg)
    expect("iphone-base64.eml", answer="yes", **{"from": "psirt@acme.example"})


def mutt_qp_nextline():
    """Mutt: UTF-8 quoted-printable, the answer on the line after the label."""
    body = ("Hi,\n\n" + quoted(NOTICE.split("\n\n詳細情報の請求")[0]) + "\n\n"
            "詳細情報の請求 / Request detail:\nyes\n\n> -- \n> JPCERT/CC <vultures@cert.example>\n\n"
            "Regards,\nKen\n")
    utf8qp = email.charset.Charset("utf-8")
    utf8qp.body_encoding = email.charset.QP
    msg = MIMEText(body, "plain", utf8qp)
    common(msg, "Ken Ito <secteam@gamma.example>", Header("Re: " + NOTICE_SUBJECT, "utf-8"),
           "Mon, 6 Jan 2025 12:00:00 +0100", "<Z3wTx8aB1cD2eF3g@gamma.example>")
    msg["User-Agent"] = "NeoMutt/20231103"
    write("mutt-qp-nextline.eml", msg)
    expect("mutt-qp-nextline.eml", answer="yes", **{"from": "secteam@gamma.example"})


def plain_ascii(name, frm, subject, body, msgid, mailer=None, answer="none", extra=(), refs=True, **kw):
    if body.isascii():
        msg = MIMEText(body, "plain", "us-ascii")
    else:
        utf8qp = email.charset.Charset("utf-8")
        utf8qp.body_encoding = email.charset.QP
        msg = MIMEText(body, "plain", utf8qp)
    common(msg, frm, subject, "Tue, 7 Jan 2025 08:00:00 +0000", msgid, refs=refs)
    for k, v in extra:
        msg[k] = v
    if mailer:
        msg["X-Mailer"] = mailer
    write(name, msg)
    addr = frm.split("<")[-1].rstrip(">") if "<" in frm else frm
    kw.setdefault("from", addr.split(",")[0].strip().lower())
    expect(name, answer=answer, **kw)


def outlook_ooo():
    """Exchange Online out-of-office: Auto-Submitted, X-Auto-Response-Suppress."""
    msg = MIMEMultipart("alternative", boundary="_000_OOF_SN7PR11MB6750_")
    msg.attach(MIMEText("I am out of the office until January 10 with limited access to email.\n"
                        "For urgent security matters please contact psirt-urgent@acme.example.\n", "plain", "us-ascii"))
    msg.attach(MIMEText('<html><body><p>I am out of the office until January 10 with limited access to email.</p>'
                        '<p>For urgent security matters please contact psirt-urgent@acme.example.</p></body></html>', "html", "us-ascii"))
    common(msg, "John Smith <psirt@acme.example>", Header("Automatic reply: " + NOTICE_SUBJECT, "utf-8"),
           "Mon, 6 Jan 2025 01:00:05 +0000", "<d1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a6@SN7PR11MB6750.namprd11.prod.outlook.com>")
    msg["Thread-Topic"] = Header(NOTICE_SUBJECT, "utf-8")
    msg["Auto-Submitted"] = "auto-generated"
    msg["X-Auto-Response-Suppress"] = "All"
    msg["X-MS-Exchange-Inbox-Rules-Loop"] = "psirt@acme.example"
    msg["X-MS-Has-Attach"] = ""
    write("autoreply-outlook-ooo.eml", msg)
    expect("autoreply-outlook-ooo.eml", auto_reply=True, **{"from": "psirt@acme.example"})


def japanese_fuzai():
    """Japanese groupware absence notice: only the subject says it."""
    body = "このメールは自動送信されています。\n\n1月6日から1月10日まで不在にしております。\nご不便をおかけしますが、1月14日以降にご連絡いたします。\n\n佐藤 花子\n"
    msg = MIMEText(body, "plain", "iso-2022-jp")
    common(msg, Header("佐藤 花子", "iso-2022-jp").encode() + " <psirt@acme.example>",
           Header("【不在通知】" + NOTICE_SUBJECT, "iso-2022-jp"), "Mon, 06 Jan 2025 10:00:09 +0900",
           "<20250106100009.G0001@groupware.acme.example>", refs=False)
    msg["X-Mailer"] = "Groupware Mail 5.2"
    write("autoreply-fuzai-ja.eml", msg)
    expect("autoreply-fuzai-ja.eml", auto_reply=True, **{"from": "psirt@acme.example"})


def outlook_ja_html():
    """Japanese Outlook: plain ISO-2022-JP + HTML Shift_JIS quoted-printable,
    "RE:", 差出人/送信日時 header block before the unquoted original."""
    reply = "JPCERT/CC ご担当者様\n\n詳細情報の請求 / Request detail: はい\n\n弊社 ACME NAS シリーズで当該 Web サーバを使用しています。\n\nACME 製品セキュリティ 高橋\n"
    header = ("差出人: JPCERT/CC <vultures@cert.example> \n送信日時: 2025年1月6日 10:00\n"
              "宛先: psirt@acme.example\n件名: " + NOTICE_SUBJECT + "\n\n")
    plain = reply + "\n" + header + NOTICE + "\n"
    html = (
        (OUTLOOK_HTML_HEAD % "shift_jis").replace('lang="EN-US"', 'lang="JA"')
        + outlook_paras(reply)
        + "\n<div>\n"
        + outlook_header_block(ROBOT, "2025年1月6日 10:00", "psirt@acme.example", NOTICE_SUBJECT,
                               labels=("差出人", "送信日時", "宛先", "件名"))
        + "</div>\n" + outlook_paras(NOTICE) + "\n</div>\n</body>\n</html>\n"
    )
    sjis = iconv(html, "SHIFT_JIS")
    msg = MIMEMultipart("alternative", boundary="_000_TYCPR01MB8123ABCD_")
    msg.attach(MIMEText(plain, "plain", "iso-2022-jp"))
    hp = MIMENonMultipart("text", "html", charset="shift_jis")
    hp.set_payload(qp_bytes(crlf_bytes(sjis)))
    hp["Content-Transfer-Encoding"] = "quoted-printable"
    msg.attach(hp)
    common(msg, Header("高橋 健", "iso-2022-jp").encode() + " <psirt@acme.example>",
           Header("RE: " + NOTICE_SUBJECT, "iso-2022-jp"), "Mon, 6 Jan 2025 02:31:18 +0000",
           "<TYCPR01MB8123A0B1C2D3E4F5A6B7C8D9E0F1A@TYCPR01MB8123.jpnprd01.prod.outlook.com>")
    msg["Thread-Topic"] = Header(NOTICE_SUBJECT, "iso-2022-jp")
    msg["Accept-Language"] = "ja-JP, en-US"
    msg["Content-Language"] = "ja-JP"
    msg["X-Mailer"] = "Microsoft Outlook 16.0"
    write("outlook-ja-sjis-html.eml", msg)
    expect("outlook-ja-sjis-html.eml", answer="yes", **{"from": "psirt@acme.example"})


def qp_bytes(b):
    import quopri
    return quopri.encodestring(b).decode("ascii").replace("\r\n", "\n")


def webmail_html_xsjis():
    """Japanese webmail sending HTML only with the label x-sjis."""
    html = ("<html><body><div>JPCERT/CC 御中</div><div><br></div><div>詳細情報の請求：いいえ</div>"
            "<div>該当する製品はございません。</div><div><br></div><div>ガンマ株式会社 セキュリティ担当</div>"
            "<div><br></div><blockquote style=\"border-left:2px solid #ccc\">" + NOTICE.replace("\n", "<br>")
            .replace("JPCERT/CC <vultures@cert.example>", "JPCERT/CC &lt;vultures@cert.example&gt;")
            + "</blockquote></body></html>")
    msg = MIMENonMultipart("text", "html", charset="x-sjis")
    msg.set_payload(base64.encodebytes(iconv(html, "SHIFT_JIS")).decode("ascii"))
    msg["Content-Transfer-Encoding"] = "base64"
    common(msg, "secteam@gamma.example", words("Re: " + NOTICE_SUBJECT, "x-sjis", "SHIFT_JIS"),
           "Tue, 07 Jan 2025 16:40:00 +0900", "<webmail.20250107164000.5521@gamma.example>")
    msg["X-Mailer"] = "WebMail/3.1"
    write("webmail-html-xsjis.eml", msg)
    expect("webmail-html-xsjis.eml", answer="no", text_from_html=True, **{"from": "secteam@gamma.example"})


def unknown_charset():
    """A gateway relabelled the body "unknown-8bit": the answer must survive."""
    body = iconv("Request detail: yes\n\n担当: 佐藤\n", "SHIFT_JIS")
    msg = MIMENonMultipart("text", "plain", charset="unknown-8bit")
    msg.set_payload(crlf_bytes(body).decode("ascii", "surrogateescape"))
    msg["Content-Transfer-Encoding"] = "8bit"
    common(msg, "psirt@acme.example", "Re: " + NOTICE_SUBJECT.encode("ascii", "ignore").decode().replace("  ", " "),
           "Tue, 7 Jan 2025 10:10:10 +0900", "<unknown8bit.1@acme.example>")
    write("unknown-charset.eml", msg)
    expect("unknown-charset.eml", answer="yes", charset_problem=True, **{"from": "psirt@acme.example"})


def capture_postfix_bounce(dir_):
    """Send the notice to an unknown user through the real Postfix + Dovecot
    of testdata/mailservers.sh and keep the DSN Postfix returns (as IMAP
    would deliver it: CRLF). Needs root:

        testdata/mailservers.sh start /tmp/cbdsn
        python3 testdata/mail/gen.py --capture-bounce /tmp/cbdsn
        testdata/mailservers.sh stop /tmp/cbdsn
    """
    import glob
    import smtplib
    import time

    env = dict(l.strip().split("=", 1) for l in open(os.path.join(dir_, "env")) if "=" in l)
    host, port = env["SMTP_ADDR"].split(":")
    notice = MIMEText(NOTICE, "plain", "utf-8")
    notice["From"] = ROBOT
    notice["To"] = "gone@acme.example"
    notice["Subject"] = Header(NOTICE_SUBJECT, "utf-8")
    notice["Date"] = "Mon, 6 Jan 2025 10:00:00 +0900"
    notice["Message-ID"] = NOTICE_ID
    notice["Auto-Submitted"] = "auto-generated"
    notice["X-Coordbot-Loop"] = "vultures@cert.example"
    inbox = os.path.join(env["MAILDIR_ROOT"], "cert.example", "vultures", "Maildir", "new", "*")
    before = set(glob.glob(inbox))
    with smtplib.SMTP(host, int(port)) as s:
        s.sendmail("vultures@cert.example", ["gone@acme.example"], notice.as_bytes())
    for _ in range(100):
        new = set(glob.glob(inbox)) - before
        if new:
            raw = open(new.pop(), "rb").read()
            with open(os.path.join(HERE, "bounce-postfix.eml"), "wb") as f:
                f.write(crlf_bytes(raw))
            return
        time.sleep(0.1)
    raise SystemExit("no bounce arrived")


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--capture-bounce":
        capture_postfix_bounce(sys.argv[2])
    thunderbird_flowed()
    outlook_html_only()
    outlook_alternative_aw()
    gmail_on_wrote()
    iso2022jp_henshin()
    japanese_8bit(
        "shiftjis-base64.eml", "Shift_JIS", "SHIFT_JIS", "base64",
        "JPCERT/CC 御中\n\nいつもお世話になっております。\n\n詳細情報の請求: いいえ\n\n"
        "弊社には該当する製品がございません。\n\n" + quoted(NOTICE) + "\n",
        "Re: " + NOTICE_SUBJECT, "Denbun POP Ver3.3P R4.2", ("株式会社ベータ 製品担当", "security@beta.example"), "no",
        "<20250107091500.0001.beta@beta.example>")
    japanese_8bit(
        "eucjp-8bit.eml", "EUC-JP", "EUC-JP", "8bit",
        "JPCERT/CC 様\n\n" + quoted(NOTICE) + "\n\n詳細情報の請求 / Request detail: はい\n\nよろしくお願いします。\nガンマ セキュリティチーム\n",
        "Re: " + NOTICE_SUBJECT, "Sylpheed 3.7.0 (GTK+ 2.24.33; x86_64-pc-linux-gnu)",
        ("ガンマ セキュリティチーム", "secteam@gamma.example"), "yes", "<20250107091500.0002.eucjp@gamma.example>")
    japanese_8bit(
        "windows31j-no.eml", "Windows-31J", "CP932", "base64",
        "JPCERT/CC ご担当者様\n\n詳細情報の請求：いいえ\n\n① 弊社製品は当該ライブラリを使用しておりません。\n② 調査は完了しています。\n\n" + quoted(NOTICE) + "\n",
        "RE: " + NOTICE_SUBJECT, "JavaMail 1.6 (ticket system)", ("ベータ PSIRT", "security@beta.example"), "no",
        "<1736208900000.42.JavaMail.ticket@beta.example>")
    fullwidth_subject()
    iphone_base64()
    mutt_qp_nextline()
    plain_ascii("ambiguous.eml", "Ken Ito <secteam@gamma.example>", "Re: [JVNVU#12345678] Vulnerability overview",
                "Request detail: yes / no - we are still checking which products use the library.\n\n"
                "Ken\n\n" + quoted(NOTICE) + "\n",
                "<ambiguous.1@gamma.example>", mailer="Claws Mail 4.2.0")
    plain_ascii("quoted-template-only.eml", "Ken Ito <secteam@gamma.example>", "Re: [JVNVU#12345678] Vulnerability overview",
                "Thank you, we will check and get back to you.\n\nKen\n\n"
                "On Mon, Jan 6, 2025 at 10:00 AM JPCERT/CC <vultures@cert.example> wrote:\n"
                + quoted(NOTICE) + "\n",
                "<quoted.1@gamma.example>")
    outlook_ooo()
    japanese_fuzai()
    plain_ascii("no-caseid-inreplyto.eml", "Hanako Sato <psirt@acme.example>", "Re: Vulnerability overview",
                "Request detail: yes\n\nHanako\n", "<nocase.1@acme.example>", answer="yes", case_id="",
                in_reply_to="ov.JVNVU12345678.acme.1@cert.example")
    plain_ascii("several-from.eml", "psirt@acme.example, Mallory <mallory@evil.example>",
                "Re: [JVNVU#12345678] Vulnerability overview", "Request detail: yes\n",
                "<several.1@evil.example>", answer="yes", from_count=2, **{"from": "psirt@acme.example"})
    outlook_ja_html()
    webmail_html_xsjis()
    plain_ascii("thebat-re2.eml", "security@beta.example", "Re[2]: [JVNVU#12345678] Vulnerability overview",
                "Hello JPCERT/CC,\n\nREQUEST DETAIL: YES\n\n--\nBest regards,\nBeta PSIRT\n", "<1572016471.20250107111111@beta.example>",
                mailer="The Bat! (v10.5.3) Professional", answer="yes")
    plain_ascii("lowercase-caseid.eml", "security@beta.example", "re: [jvnvu#12345678] vulnerability overview",
                "request detail: no\n", "<lower.1@beta.example>", answer="no", extra=[("X-Ticket", "BETA-9921")])
    unknown_charset()

    EXPECT["bounce-postfix.eml"] = {
        "case_id": "", "answer": "none", "auto_reply": True, "bounce": True, "from": "mailer-daemon@mail.coordbot.test",
        "from_count": 1, "charset_problem": False, "failed_recipients": ["gone@acme.example"],
        "original_message_id": "ov.JVNVU12345678.acme.1@cert.example",
    }
    with open(os.path.join(HERE, "expect.json"), "w", encoding="utf-8") as f:
        json.dump(dict(sorted(EXPECT.items())), f, ensure_ascii=False, indent=1)
        f.write("\n")


if __name__ == "__main__":
    sys.exit(main())
