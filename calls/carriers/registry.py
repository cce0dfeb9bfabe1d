"""Which carrier module serves which kind of carrier account."""

from calls.carriers.base import Carrier
from calls.carriers.callapi import CallApiCarrier
from calls.carriers.didforsale import DidForSaleCarrier
from calls.carriers.sandbox import SandboxCarrier
from calls.carriers.superfone import SuperfoneCarrier
from calls.carriers.vobiz import VobizCarrier
from calls.models import Call, CarrierAccount, CarrierKind

CARRIERS: dict[str, type[Carrier]] = {
    CarrierKind.SANDBOX: SandboxCarrier,
    CarrierKind.VOBIZ: VobizCarrier,
    CarrierKind.CALLAPI: CallApiCarrier,
    CarrierKind.DIDFORSALE: DidForSaleCarrier,
    CarrierKind.SUPERFONE: SuperfoneCarrier,
}


def for_account(kind: str, account: CarrierAccount | None) -> Carrier:
    return CARRIERS[kind](account)


def for_call(call: Call) -> Carrier:
    return for_account(call.carrier, call.carrier_account)
