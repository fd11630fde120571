"""Messages shaped like the mail clients applicants use, built as raw bytes the way each client writes them."""

from __future__ import annotations

import base64
import textwrap
from datetime import UTC, datetime
from email.utils import format_datetime, make_msgid

from tnef import winmail_dat

TO = "cers-applications@cbsa-asfc.example"


def _b64(data: bytes) -> str:
    return "\r\n".join(textwrap.wrap(base64.b64encode(data).decode(), 76))


def _common(sender: str, subject: str) -> str:
    return (
        f"From: {sender}\r\nTo: {TO}\r\nSubject: {subject}\r\n"
        f"Date: {format_datetime(datetime.now(UTC))}\r\nMessage-ID: {make_msgid(domain='client.example')}\r\n"
        "MIME-Version: 1.0\r\n"
    )


def outlook_rich_text(pdf: bytes, name: str = "BSF831.pdf") -> bytes:
    """Outlook for Windows in rich-text mode: the PDF inside winmail.dat (application/ms-tnef)."""
    return (
        _common("=?utf-8?Q?Fran=C3=A7ois_B=C3=A9dard?= <f.bedard@outlook-user.example>", "BSF831 application")
        + "X-Mailer: Microsoft Outlook 16.0\r\nThread-Index: AdlS0x0AAAAAAAAAAAAAAAAAAAAAAA==\r\n"
        'Content-Type: multipart/mixed; boundary="_000_OUTLOOK_"\r\n\r\n'
        '--_000_OUTLOOK_\r\nContent-Type: text/plain; charset="us-ascii"\r\n\r\nSee attached.\r\n\r\n'
        '--_000_OUTLOOK_\r\nContent-Type: application/ms-tnef; name="winmail.dat"\r\n'
        'Content-Disposition: attachment; filename="winmail.dat"\r\nContent-Transfer-Encoding: base64\r\n\r\n'
        f"{_b64(winmail_dat([(name, pdf)]))}\r\n--_000_OUTLOOK_--\r\n"
    ).encode()


def apple_mail_inline(pdf: bytes) -> bytes:
    """Apple Mail: the PDF shown inline, between two text parts, with x-unix-mode."""
    return (
        _common("Claire Roy <claire.roy@icloud-user.example>", "Formulaire")
        + 'Content-Type: multipart/mixed; boundary="Apple-Mail=_1"\r\n\r\n'
        "--Apple-Mail=_1\r\nContent-Transfer-Encoding: 7bit\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\nHello,\r\n\r\n"
        "--Apple-Mail=_1\r\nContent-Disposition: inline; filename=BSF831.pdf\r\n"
        'Content-Type: application/pdf; x-unix-mode=0644; name="BSF831.pdf"\r\nContent-Transfer-Encoding: base64\r\n\r\n'
        f"{_b64(pdf)}\r\n"
        "--Apple-Mail=_1\r\nContent-Transfer-Encoding: 7bit\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\nThanks\r\n"
        "--Apple-Mail=_1--\r\n"
    ).encode()


def gmail_rfc2047_name(pdf: bytes) -> bytes:
    """Gmail: RFC 2047 encoded words inside the name and filename parameters."""
    encoded = "=?UTF-8?B?" + base64.b64encode("Demande d'accès été.pdf".encode()).decode() + "?="
    return (
        _common("Luc Tremblay <luc.tremblay@gmail-user.example>", "=?UTF-8?Q?Demande_d=27acc=C3=A8s?=")
        + 'Content-Type: multipart/mixed; boundary="000000000000gmail"\r\n\r\n'
        '--000000000000gmail\r\nContent-Type: multipart/alternative; boundary="000000000000alt"\r\n\r\n'
        '--000000000000alt\r\nContent-Type: text/plain; charset="UTF-8"\r\n\r\nBonjour\r\n'
        '--000000000000alt\r\nContent-Type: text/html; charset="UTF-8"\r\n\r\n<div>Bonjour</div>\r\n'
        "--000000000000alt--\r\n"
        f'--000000000000gmail\r\nContent-Type: application/pdf; name="{encoded}"\r\n'
        f'Content-Disposition: attachment; filename="{encoded}"\r\nContent-Transfer-Encoding: base64\r\n'
        "X-Attachment-Id: f_lk1\r\nContent-ID: <f_lk1>\r\n\r\n"
        f"{_b64(pdf)}\r\n--000000000000gmail--\r\n"
    ).encode()


def thunderbird_rfc2231_name(pdf: bytes) -> bytes:
    """Thunderbird: RFC 2231 continuation and percent-encoding of a French file name."""
    return (
        _common("Anne <anne@thunderbird-user.example>", "BSF831") + "User-Agent: Mozilla Thunderbird\r\n"
        'Content-Type: multipart/mixed; boundary="------------tb"\r\n\r\n'
        "--------------tb\r\nContent-Type: text/plain; charset=UTF-8; format=flowed\r\n\r\nBonjour\r\n\r\n"
        "--------------tb\r\nContent-Type: application/pdf;\r\n"
        " name*0*=UTF-8''Formulaire%20BSF831%20r%C3%A9vis%C3%A9;\r\n name*1=\".pdf\"\r\n"
        "Content-Disposition: attachment;\r\n filename*0*=UTF-8''Formulaire%20BSF831%20r%C3%A9vis%C3%A9;\r\n filename*1=\".pdf\"\r\n"
        f"Content-Transfer-Encoding: base64\r\n\r\n{_b64(pdf)}\r\n--------------tb--\r\n"
    ).encode()


def webmail_octet_stream(pdf: bytes) -> bytes:
    """An older webmail: application/octet-stream, upper-case .PDF, no Content-Disposition."""
    return (
        _common("exports@webmail-user.example", "form") + 'Content-Type: multipart/mixed; boundary="b1"\r\n\r\n'
        "--b1\r\nContent-Type: text/plain\r\n\r\nform\r\n"
        '--b1\r\nContent-Type: application/octet-stream; name="BSF831.PDF"\r\nContent-Transfer-Encoding: base64\r\n\r\n'
        f"{_b64(pdf)}\r\n--b1--\r\n"
    ).encode()


def forwarded_as_attachment(pdf: bytes) -> bytes:
    """A colleague forwards the applicant's message as an attachment (message/rfc822)."""
    inner = gmail_rfc2047_name(pdf).decode()
    return (
        _common("Office Manager <office@exporter.example>", "FW: Demande d'accès") + 'Content-Type: multipart/mixed; boundary="fw"\r\n\r\n'
        "--fw\r\nContent-Type: text/plain\r\n\r\nForwarding the form below.\r\n"
        '--fw\r\nContent-Type: message/rfc822\r\nContent-Disposition: attachment; filename="original.eml"\r\n\r\n'
        f"{inner}\r\n--fw--\r\n"
    ).encode()


def legacy_charset_headers(pdf: bytes) -> bytes:
    """Headers and body in ISO-8859-1 and windows-1252, as older clients still send them."""
    return (
        _common("=?windows-1252?Q?Fran=E7ois_L=E9vesque?= <levesque@legacy.example>", "=?iso-8859-1?Q?Demande_d'acc=E8s_=E0_SCDE?=")
        + 'Content-Type: multipart/mixed; boundary="lg"\r\n\r\n'
        "--lg\r\nContent-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"
        "Voici le formulaire sign=E9.\r\n"
        '--lg\r\nContent-Type: application/pdf; name="=?iso-8859-1?Q?r=E9sum=E9.pdf?="\r\nContent-Transfer-Encoding: base64\r\n\r\n'
        f"{_b64(pdf)}\r\n--lg--\r\n"
    ).encode()


def two_forms(first: bytes, second: bytes) -> bytes:
    """A provider sends the forms of two exporters in one message."""
    return (
        _common("Border Brokers <filings@borderbrokers.example>", "Two BSF831 forms")
        + 'Content-Type: multipart/mixed; boundary="two"\r\n\r\n'
        "--two\r\nContent-Type: text/plain\r\n\r\nTwo clients.\r\n"
        f'--two\r\nContent-Type: application/pdf; name="client-1.pdf"\r\nContent-Transfer-Encoding: base64\r\n\r\n{_b64(first)}\r\n'
        f'--two\r\nContent-Type: application/pdf; name="client-2.pdf"\r\nContent-Transfer-Encoding: base64\r\n\r\n{_b64(second)}\r\n'
        "--two--\r\n"
    ).encode()
