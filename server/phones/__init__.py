"""Phones: the /phone Socket.IO namespace, the HTTP endpoints phones use
(enrolment, assets, agent download), and the console's phone pages."""
