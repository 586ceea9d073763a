"""The register's tables: disclosure requests (依申请公开), the documents attached to them, and
the reconsiderations (行政复议) and lawsuits (行政诉讼) about them. Created by the desk's
migration `desk_0013`; outcomes use the labels of responders.register.outcomes."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Date, ForeignKey, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from monitor.models import Base


class DisclosureRequest(Base):
    """One request for government information, from receipt to its reply."""

    __tablename__ = "disclosure_requests"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str] = mapped_column(String(40), unique=True)      # 登记号, e.g. 2026-017
    received_on: Mapped[date] = mapped_column(Date, index=True)       # 条例第三十一条
    channel: Mapped[str] = mapped_column(String(20))                  # 当面 | 信函 | 网络 …
    applicant_type: Mapped[str] = mapped_column(String(20))           # 自然人 | 商业企业 …
    applicant: Mapped[str] = mapped_column(String(200), default="")
    subject: Mapped[str] = mapped_column(Text)                        # what is asked
    correction_requested_on: Mapped[date | None] = mapped_column(Date, default=None)
    corrected_on: Mapped[date | None] = mapped_column(Date, default=None)       # 补正收到
    extension_days: Mapped[int] = mapped_column(Integer, default=0)
    applicant_told_on: Mapped[date | None] = mapped_column(Date, default=None)  # of the extension
    # Third-party or other-agency consultation: [[first day, last day], …] (ISO dates).
    pauses: Mapped[list[Any]] = mapped_column(default=list)
    due_on: Mapped[date] = mapped_column(Date, index=True)            # stored when it changes
    state: Mapped[str] = mapped_column(String(20), default="open", index=True)  # open|answered
    outcome: Mapped[str | None] = mapped_column(String(120), default=None)
    answered_on: Mapped[date | None] = mapped_column(Date, default=None, index=True)
    fee_yuan: Mapped[int] = mapped_column(Integer, default=0)         # 信息处理费, normally 0
    notes: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[str] = mapped_column(String(120), default="")
    created_at: Mapped[datetime] = mapped_column()
    updated_at: Mapped[datetime] = mapped_column()

    documents: Mapped[list[RequestDocument]] = relationship(
        back_populates="request", order_by="RequestDocument.id")
    cases: Mapped[list[DisclosureCase]] = relationship(
        back_populates="request", order_by="DisclosureCase.filed_on")


class RequestDocument(Base):
    """A file attached to a request: the application, a 补正 or extension notice, the reply."""

    __tablename__ = "request_documents"
    __table_args__ = (UniqueConstraint("request_id", "sha256",
                                       name="uq_request_documents_request_sha256"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[int] = mapped_column(
        ForeignKey("disclosure_requests.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(40), default="其他")
    media_type: Mapped[str] = mapped_column(String(100), default="application/octet-stream")
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    uploaded_by: Mapped[str] = mapped_column(String(120), default="")
    uploaded_at: Mapped[datetime] = mapped_column()

    request: Mapped[DisclosureRequest] = relationship(back_populates="documents")


class DisclosureCase(Base):
    """An administrative reconsideration (复议) or lawsuit (诉讼) about a request's reply."""

    __tablename__ = "disclosure_cases"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[int] = mapped_column(
        ForeignKey("disclosure_requests.id", ondelete="CASCADE"), index=True)
    number: Mapped[str] = mapped_column(String(60), unique=True)      # 案号
    kind: Mapped[str] = mapped_column(String(10))                     # 复议 | 诉讼
    route: Mapped[str | None] = mapped_column(String(20), default=None)  # lawsuits only
    filed_on: Mapped[date] = mapped_column(Date, index=True)
    body: Mapped[str] = mapped_column(String(200), default="")        # 复议机关 / 法院
    outcome: Mapped[str] = mapped_column(String(10), default="尚未审结")
    decided_on: Mapped[date | None] = mapped_column(Date, default=None)
    notes: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column()
    updated_at: Mapped[datetime] = mapped_column()

    request: Mapped[DisclosureRequest] = relationship(back_populates="cases")
