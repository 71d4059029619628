from app.models.technicians.pool_version import POOL_VERSION_ID, PoolVersion
from app.models.technicians.skill import Skill
from app.models.technicians.technician_position import TechnicianPosition
from app.models.technicians.technician_profile import Availability, TechnicianProfile
from app.models.technicians.technician_skill import TechnicianSkill

__all__ = ["POOL_VERSION_ID", "Availability", "PoolVersion", "Skill", "TechnicianPosition", "TechnicianProfile",
           "TechnicianSkill"]
