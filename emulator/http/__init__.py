"""The HTTP edge: the front door every request enters by (`front_door.py`) and what every request passes through on its
way to a provider or the control API: the mounts, parameter parsing, JSON answers, the exposure
guard, the fault injector, refusal reasons, and the uvicorn server with its header deadline."""
