"""What the Distillation tab offers: the registered methods, and what a teacher gives."""

from fastapi import APIRouter
from pydantic import BaseModel, Field

from backend.api.deps import RunStoreDep
from backend.services import teachers

router = APIRouter(prefix="/api/distill", tags=["distill"])


class MethodPublic(BaseModel):
    name: str
    needs_teacher: bool = Field(description="runs the teacher model on every batch")
    reads_knowledge: bool = Field(
        description="reads the teacher's knowledge file and nothing else of the teacher"
    )
    default_lam: float = Field(description="λ when a job leaves it out")
    default_beta: float | None = Field(
        description="β when a job leaves it out; null: the method takes no β and no ρ"
    )
    default_rho: float | None = Field(description="ρ when a job leaves it out")
    description: str


class KnowledgeLayerPublic(BaseModel):
    path: str
    width: int = Field(description="neurons (vectors) of the layer")
    spatial: bool


class KnowledgePublic(BaseModel):
    file: str = Field(description="its name in the teacher's run folder")
    exists: bool = Field(description="false: the first static job makes it from the vectors")
    bytes: int = Field(description="its size (as it will be, when not made yet)")
    vector_dim: int
    classes: list[str]
    logit_layer: str
    layers: list[KnowledgeLayerPublic] = Field(description="in file order, the logit layer last")


class InputPublic(BaseModel):
    channels: int = Field(description="1 (greyscale) or 3 (colour)")
    size: int = Field(description="side in pixels of the images the model sees")


class TeacherPublic(BaseModel):
    run: str
    kind: str = Field(description="train (trained with alignment) or align (a loaded model)")
    arch: str
    source: str | None = Field(description="the file or run its weights came from (name only)")
    dataset: str | None
    train_images: int | None = Field(description="images in its training split: the students'")
    data_problem: str | None = Field(description="why the training split cannot be read")
    input: InputPublic | None = Field(description="its images as the model sees them")
    student: str | None = Field(
        description="the zoo architecture proposed as its student, for that input"
    )
    logits: int = Field(description="width of its logit layer")
    logits_are_classes: bool = Field(description="its logits are its dataset's classes")
    knowledge: KnowledgePublic


@router.get("/methods", response_model=list[MethodPublic])
def list_methods() -> list[dict]:
    return teachers.methods()


@router.get("/teachers/{run}", response_model=TeacherPublic)
def get_teacher(run: str, store: RunStoreDep) -> dict:
    """The teacher run's training images and the knowledge file static methods read."""
    return teachers.teacher_facts(store, run)
