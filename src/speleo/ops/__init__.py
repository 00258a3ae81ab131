"""Operations: the operations database (`db`) and one module or package per domain (users,
saved searches, and later incidents, on-call, problems, post-mortems...), in Netflix
Dispatch's shape: models, a service without HTTP, thin routes in the web layer."""
