"""Costing's settings: prices (the price sheet's defaults), ROI, the meter and aggregation."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from typing import Literal

from pydantic import Field

from storage.settings import Section


class PriceSettings(Section):
    """Prices that turn measurements into money and messages into value; each change becomes a
    price-sheet version, so past figures keep the prices they were computed with."""

    currency: str = Field(default="USD", min_length=3, max_length=3)
    hardware: Literal["cloud", "owned"] = "cloud"
    # Cloud compute. CPU: AWS c7i.large (2 vCPU) on-demand us-east-1 was $0.08925/h in 2024,
    # i.e. about $0.045 per vCPU-hour. GPU: AWS p5 H100 on-demand ≈ $98.32/h for 8 GPUs in 2024,
    # i.e. about $12.29 per GPU-hour (source: aws.amazon.com/ec2/pricing/on-demand).
    cpu_core_hour: Decimal = Decimal("0.045")
    gpu_hour: Decimal = Decimal("12.29")
    # Owned hardware, amortised: purchase price / (lifetime hours × expected utilisation).
    purchase_price: Decimal = Decimal("3000")
    lifetime_years: Decimal = Field(default=Decimal("4"), gt=0)
    expected_utilisation: Decimal = Field(default=Decimal("0.5"), gt=0, le=1)
    # Electricity: US average commercial price 2024 ≈ $0.13/kWh (EIA Electric Power Monthly).
    electricity_kwh: Decimal = Decimal("0.13")
    # Power usage effectiveness: Uptime Institute 2024 global average data-centre PUE ≈ 1.56.
    pue: Decimal = Field(default=Decimal("1.56"), ge=1, le=5)
    # Grid carbon intensity: world average 2023 ≈ 481 gCO2/kWh
    # (Ember, Global Electricity Review 2024).
    grid_gco2_kwh: Decimal = Field(default=Decimal("481"), ge=0)
    # Data: collection per item, annotation per label, storage per GB-month
    # (annotation: ~$0.05 per simple text label, typical crowd-sourcing rate; storage: AWS S3
    # standard $0.023/GB-month).
    data_collection_per_item: Decimal = Decimal("0.0")
    data_annotation_per_label: Decimal = Decimal("0.05")
    data_storage_gb_month: Decimal = Decimal("0.023")
    # Human cost of one support ticket: HDI/MetricNet put the average North-American service-desk
    # cost per ticket at about $15.56 (MetricNet, 2017 benchmark); we default to $6 per simple
    # chat ticket handled by a person, a deliberately conservative figure. Configure your own.
    human_ticket_cost: Decimal = Field(default=Decimal("6.00"), ge=0)
    # What a caller pays per classification, if you sell it (revenue ROI); none by default.
    price_per_call: Decimal | None = Field(default=None, ge=0)
    # Cloud: the instance's price per hour, paid busy or idle (e.g. AWS c7i.large on-demand
    # us-east-1: $0.08925/h in 2024). Set, it makes idle cost (paid hours minus the busy work
    # priced above) its own line; unset, only busy time is counted.
    instance_hour: Decimal | None = Field(default=None, ge=0)


class RoiSettings(Section):
    """How one-off costs enter the return on investment."""

    training_amortisation_months: int = Field(default=12, ge=1, le=120)
    # A wrong automated answer costs a human ticket plus this (the customer returns and still
    # needs a person, annoyed); with the ticket cost it sets the `unknown` operating point.
    wrong_answer_penalty: Decimal = Field(default=Decimal("4.00"), ge=0)
    # Assumed share of out-of-scope messages in support traffic, for the same choice.
    out_of_scope_share: Decimal = Field(default=Decimal("0.1"), ge=0, lt=1)
    # A customer who comes back within this many hours re-opens the conversation: the bot's
    # answer did not hold (Dialogflow CX counts containment "without a call-back in 24 hours").
    recontact_window_h: int = Field(default=24, ge=1, le=24 * 30)
    # Share of an answered but not yet settled conversation assumed to be a resolution; shown
    # apart as assumed value, never in the ROI.
    unconfirmed_answer_rate: Decimal = Field(default=Decimal("0.5"), ge=0, le=1)

    @property
    def recontact_window(self) -> timedelta:
        """The re-contact window as a duration."""
        return timedelta(hours=self.recontact_window_h)


class MeterSettings(Section):
    """Power used for estimates where no energy counter is readable; read when a meter is built
    (at service start, at training start), so a change needs a restart."""

    cpu_watts_per_core: Decimal = Field(default=Decimal("10"), gt=0)
    gpu_watts: Decimal = Field(default=Decimal("350"), gt=0)
    # Other metered processes (service replicas) share this host's CPU packages and GPU: their
    # counters (RAPL, NVML) would charge each process the whole device, so energy is estimated
    # from this process's own CPU/GPU seconds instead (`costbot serve --replicas N` sets it).
    shared_host: bool = False


class AggregationSettings(Section):
    """The scheduled work (the roll-up job, budget alerts, the leader check), and the time zone
    days, weeks and months are counted in."""

    interval_s: int = Field(default=300, ge=5, le=86_400)
    timezone: str = "UTC"
    # The roll-up folds a record only once the largest id seen has aged this long: the longest a
    # writer's transaction may take to commit after taking its ids (docs/costing.md).
    settle_s: float = Field(default=60.0, ge=1, le=3600)
    # How often pending budget alerts are posted.
    alert_interval_s: int = Field(default=60, ge=1, le=86_400)
    # How often each process checks the leader lock (PostgreSQL): how soon a follower takes over
    # scheduled work once the leader's process or connection is gone.
    leader_check_s: int = Field(default=15, ge=1, le=3600)


class ForecastSettings(Section):
    """The cost forecast and the alerts read from it (predictive budget and spike alerts)."""

    # Whole local days of history the forecast and its backtest read (at least two weeks, so
    # weekly seasonality can be fitted and checked).
    history_days: int = Field(default=56, ge=14, le=730)
    # Central coverage of the projection's interval, in percent.
    interval_pct: int = Field(default=90, ge=50, le=99)
    # A day is a spike when its spend exceeds median + k × MAD of the trailing window (k = 5 is
    # close to the modified z-score cut of 3.5 of Iglewicz and Hoaglin: 3.5 / 0.6745 ≈ 5.2).
    spike_mad_k: Decimal = Field(default=Decimal("5"), gt=0, le=100)
    spike_window_days: int = Field(default=28, ge=7, le=365)
    # How often the forecast alerts are checked (each check fits one forecast per budget).
    check_interval_s: int = Field(default=3600, ge=60, le=86_400)


class WhatIfSettings(Section):
    """Alternatives the measured workload is priced on (`costbot whatif`); prices are in the price
    sheet's currency. The GPU instance is priced at `prices.gpu_hour`."""

    # A recorded benchmark result (JSONL) giving the GPU instance's messages per second; relative
    # paths are read from the project's root.
    gpu_benchmark: str = "benchmarks/results/support_sweep_h200.jsonl"
    # A hosted model priced per million tokens. Default: OpenAI gpt-4o-mini list price since
    # 2024-07 ($0.15 input, $0.60 output per 1M tokens; openai.com/api/pricing).
    hosted_model: str = Field(default="gpt-4o-mini", min_length=1, max_length=60)
    hosted_input_per_mtok: Decimal = Field(default=Decimal("0.15"), ge=0)
    hosted_output_per_mtok: Decimal = Field(default=Decimal("0.60"), ge=0)
    # Token counts are estimated from text lengths: OpenAI's rule of thumb, 1 token ≈ 4 characters
    # of English text.
    chars_per_token: Decimal = Field(default=Decimal("4"), gt=0, le=100)
    # Characters every request carries besides the message: 1648 is the 77 intent names,
    # space-separated (bot/data/reply_templates.json), the least a classification prompt lists.
    prompt_chars: int = Field(default=1648, ge=0, le=1_000_000)
    # Characters of one answer: 111 is the mean length of the 77 shipped reply templates.
    reply_chars: int = Field(default=111, ge=0, le=1_000_000)
    # Messages one human ticket covers (prices.human_ticket_cost is per ticket); 1 values each
    # message as a ticket, as the ROI does.
    human_messages_per_ticket: Decimal = Field(default=Decimal("1"), gt=0, le=1000)


@dataclass(frozen=True)
class CostingSettings:
    """The sections reports, ROI, budgets and the price book are built from."""

    prices: PriceSettings = field(default_factory=PriceSettings)
    roi: RoiSettings = field(default_factory=RoiSettings)
    aggregation: AggregationSettings = field(default_factory=AggregationSettings)
    forecast: ForecastSettings = field(default_factory=ForecastSettings)
    whatif: WhatIfSettings = field(default_factory=WhatIfSettings)

    @property
    def timezone(self) -> str:
        """The configured time zone (IANA name)."""
        return self.aggregation.timezone
