"""The MetaTrader5 module's record types as named tuples, with its names and field order (SPEC 4.1).

The official module returns these from ``account_info()``, ``positions_get()`` and the rest; code
that reads ``info.balance`` or ``info._asdict()`` works the same on every backend.

As the official types (struct sequences) do, a type called with one sequence makes a record of it:
``TradePosition(p)`` is a copy of ``p``, ``Tick(row)`` a tick of a 8-item row. Called with every
field (by position or by name) it builds a record as any named tuple does.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Callable
from typing import Any

__all__ = [
    "RECORD_TYPES",
    "AccountInfo",
    "BookInfo",
    "OrderCheckResult",
    "OrderSendResult",
    "SymbolInfo",
    "TerminalInfo",
    "Tick",
    "TradeDeal",
    "TradeOrder",
    "TradePosition",
    "TradeRequest",
    "record_to_dict",
]

_NOT_GIVEN: Any = object()


def _from_sequence(cls: type[tuple[Any, ...]], sequence: Any) -> tuple[Any, ...]:
    """A record of ``sequence``'s items, refused as a struct sequence refuses a wrong one."""
    try:
        values = tuple(sequence)
    except TypeError:
        raise TypeError("constructor requires a sequence") from None
    size = len(cls._fields)  # type: ignore[attr-defined]
    if len(values) != size:
        raise TypeError(f"{cls.__name__}() takes a {size}-sequence ({len(values)}-sequence given)")
    return tuple.__new__(cls, values)


def _missing(cls: type[tuple[Any, ...]], values: tuple[Any, ...]) -> TypeError:
    names = [name for name, value in zip(cls._fields, values, strict=True) if value is _NOT_GIVEN]  # type: ignore[attr-defined]
    listed = ", ".join(repr(name) for name in names)
    return TypeError(f"{cls.__name__}() missing {len(names)} required argument(s): {listed}")


def _record_new(record_type: type[tuple[Any, ...]]) -> Callable[..., Any]:
    """A ``__new__`` for ``record_type`` taking every field (as the named tuple's own does) or one
    sequence.

    Generated as ``namedtuple`` generates its own: records are built on hot paths (every position,
    deal and order a call returns), and a ``*args`` wrapper made building one 2.5x slower; this form
    costs a few identity checks.
    """
    fields: tuple[str, ...] = record_type._fields  # type: ignore[attr-defined]
    first, rest = fields[0], fields[1:]
    source = (
        f"def __new__(_cls, {first}, {', '.join(f'{name}=_NOT_GIVEN' for name in rest)}):\n"
        f"    if {rest[0]} is _NOT_GIVEN:\n"
        f"        if {' or '.join(f'{name} is not _NOT_GIVEN' for name in rest[1:])}:\n"
        f"            raise _missing(_cls, ({', '.join(fields)},))\n"
        f"        return _from_sequence(_cls, {first})\n"
        f"    if {' or '.join(f'{name} is _NOT_GIVEN' for name in rest[1:])}:\n"
        f"        raise _missing(_cls, ({', '.join(fields)},))\n"
        f"    return _tuple_new(_cls, ({', '.join(fields)},))\n"
    )
    namespace: dict[str, Any] = {
        "_NOT_GIVEN": _NOT_GIVEN,
        "_missing": _missing,
        "_from_sequence": _from_sequence,
        "_tuple_new": tuple.__new__,
    }
    exec(source, namespace)  # fixed text built from the field names above
    new: Callable[..., Any] = namespace["__new__"]
    new.__qualname__ = f"{record_type.__name__}.__new__"
    return new


Tick = namedtuple("Tick", "time bid ask last volume time_msc flags volume_real")

TradePosition = namedtuple(
    "TradePosition",
    "ticket time time_msc time_update time_update_msc type magic identifier reason volume price_open "
    "sl tp price_current swap profit symbol comment external_id",
)

TradeOrder = namedtuple(
    "TradeOrder",
    "ticket time_setup time_setup_msc time_done time_done_msc time_expiration type type_time "
    "type_filling state magic position_id position_by_id reason volume_initial volume_current "
    "price_open sl tp price_current price_stoplimit symbol comment external_id",
)

TradeDeal = namedtuple(
    "TradeDeal",
    "ticket order time time_msc type entry magic position_id reason volume price commission swap "
    "profit fee symbol comment external_id",
)

TradeRequest = namedtuple(
    "TradeRequest",
    "action magic order symbol volume price stoplimit sl tp deviation type type_filling type_time "
    "expiration comment position position_by",
)

OrderSendResult = namedtuple(
    "OrderSendResult",
    "retcode deal order volume price bid ask comment request_id retcode_external request",
)

OrderCheckResult = namedtuple(
    "OrderCheckResult",
    "retcode balance equity profit margin margin_free margin_level comment request",
)

BookInfo = namedtuple("BookInfo", "type price volume volume_dbl")

AccountInfo = namedtuple(
    "AccountInfo",
    "login trade_mode leverage limit_orders margin_so_mode trade_allowed trade_expert margin_mode "
    "currency_digits fifo_close balance credit profit equity margin margin_free margin_level "
    "margin_so_call margin_so_so margin_initial margin_maintenance assets liabilities "
    "commission_blocked name server currency company",
)

TerminalInfo = namedtuple(
    "TerminalInfo",
    "community_account community_connection connected dlls_allowed trade_allowed tradeapi_disabled "
    "email_enabled ftp_enabled notifications_enabled mqid build maxbars codepage ping_last "
    "community_balance retransmission company name language path data_path commondata_path",
)

SymbolInfo = namedtuple(
    "SymbolInfo",
    "custom chart_mode select visible session_deals session_buy_orders session_sell_orders volume "
    "volumehigh volumelow time digits spread spread_float ticks_bookdepth trade_calc_mode trade_mode "
    "start_time expiration_time trade_stops_level trade_freeze_level trade_exemode swap_mode "
    "swap_rollover3days margin_hedged_use_leg expiration_mode filling_mode order_mode order_gtc_mode "
    "option_mode option_right bid bidhigh bidlow ask askhigh asklow last lasthigh lastlow volume_real "
    "volumehigh_real volumelow_real option_strike point trade_tick_value trade_tick_value_profit "
    "trade_tick_value_loss trade_tick_size trade_contract_size trade_accrued_interest "
    "trade_face_value trade_liquidity_rate volume_min volume_max volume_step volume_limit swap_long "
    "swap_short margin_initial margin_maintenance session_volume session_turnover session_interest "
    "session_buy_orders_volume session_sell_orders_volume session_open session_close session_aw "
    "session_price_settlement session_price_limit_min session_price_limit_max margin_hedged "
    "price_change price_volatility price_theoretical price_greeks_delta price_greeks_theta "
    "price_greeks_gamma price_greeks_vega price_greeks_rho price_greeks_omega price_sensitivity "
    "basis category currency_base currency_profit currency_margin bank description exchange formula "
    "isin name page path",
)

RECORD_TYPES: dict[str, type[tuple[Any, ...]]] = {
    t.__name__: t
    for t in (
        AccountInfo,
        BookInfo,
        OrderCheckResult,
        OrderSendResult,
        SymbolInfo,
        TerminalInfo,
        Tick,
        TradeDeal,
        TradeOrder,
        TradePosition,
        TradeRequest,
    )
}

for _type in RECORD_TYPES.values():
    _type.__new__ = _record_new(_type)  # type: ignore[method-assign]


def record_to_dict(record: Any) -> dict[str, Any]:
    """A record as a plain dict, nested records (``request`` of a trade result) included."""
    out: dict[str, Any] = {}
    for key, value in record._asdict().items():
        out[key] = record_to_dict(value) if hasattr(value, "_asdict") else value
    return out
