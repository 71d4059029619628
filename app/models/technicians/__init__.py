from app.models.technicians.skill import Skill
from app.models.technicians.technician_profile import Availability, TechnicianProfile
from app.models.technicians.technician_skill import TechnicianSkill

__all__ = ["Availability", "Skill", "TechnicianProfile", "TechnicianSkill"]
