"""The festival-redis policy pack. PolicyPack starts the analyzer server and blocks: tests import festival_policies."""

from festival_policies import POLICIES
from pulumi_policy import EnforcementLevel, PolicyPack

PolicyPack("festival-redis-policies", POLICIES, enforcement_level=EnforcementLevel.MANDATORY)
