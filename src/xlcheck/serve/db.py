"""The service's database: SQLAlchemy 2 models; the schema itself is made by Alembic (`migrate`).

SQLite file by default, PostgreSQL (or any SQLAlchemy URL) for a bureau that has one. Files are
kept in the database (original and annotated copy of every submission), so that one backup of the
database is a backup of everything.
"""
from __future__ import annotations

import datetime as dt
from pathlib import Path

from sqlalchemy import (DateTime, Float, ForeignKey, Integer, LargeBinary, String, Text, UniqueConstraint,
                        create_engine, event)
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, deferred, mapped_column, relationship, sessionmaker

DEFAULT_DB = "sqlite:///xlcheck-serve.sqlite3"


class Base(DeclarativeBase):
    pass


class Setting(Base):
    """Key/value settings: bureau password hash, cookie secret, self-check mode."""
    __tablename__ = "settings"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class Department(Base):
    """One department of the distribution list, with the hash of its submission code."""
    __tablename__ = "departments"
    __table_args__ = (UniqueConstraint("name", "year", name="uq_department_name_year"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    year: Mapped[int] = mapped_column(Integer)
    file_name: Mapped[str | None] = mapped_column(String(255), nullable=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    submissions: Mapped[list["Submission"]] = relationship(back_populates="department",
                                                           order_by="Submission.id")


class Submission(Base):
    """One uploaded workbook, as received, with its findings and annotated copy. Never changed."""
    __tablename__ = "submissions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"), index=True)
    received_at: Mapped[dt.datetime] = mapped_column(DateTime)
    file_name: Mapped[str] = mapped_column(String(255))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))          # pass | fail (unreadable is never stored)
    errors: Mapped[int] = mapped_column(Integer, default=0)
    warnings: Mapped[int] = mapped_column(Integer, default=0)
    infos: Mapped[int] = mapped_column(Integer, default=0)
    explained: Mapped[int] = mapped_column(Integer, default=0)
    score_total: Mapped[float | None] = mapped_column(Float, nullable=True)
    grade: Mapped[str | None] = mapped_column(String(8), nullable=True)
    result_json: Mapped[str] = mapped_column(Text)           # FileResult.to_json() (+ explanations)
    original: Mapped[bytes] = deferred(mapped_column(LargeBinary, nullable=False))
    annotated: Mapped[bytes] = deferred(mapped_column(LargeBinary, nullable=False))
    department: Mapped[Department] = relationship(back_populates="submissions")


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(conn, _record):   # readers never wait for the writer; FKs enforced
            cur = conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()
        return engine
    return create_engine(url, pool_pre_ping=True)


def migrate(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to `revision` with Alembic (creates it on an empty database)."""
    from alembic import command
    from alembic.config import Config
    cfg = Config()
    cfg.set_main_option("script_location", str(Path(__file__).with_name("migrations")))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


def sessions(engine: Engine) -> sessionmaker:
    return sessionmaker(engine, expire_on_commit=False)


def get_setting(session, key: str, default: str | None = None) -> str | None:
    row = session.get(Setting, key)
    return row.value if row is not None else default


def set_setting(session, key: str, value: str) -> None:
    row = session.get(Setting, key)
    if row is None:
        session.add(Setting(key=key, value=value))
    else:
        row.value = value
