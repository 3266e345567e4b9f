#!/usr/bin/python3
# A client in the style of the ROS dmp package's tutorial (learn from a 2-D demo, set it
# active, plan to a new goal with tau doubled), then Praxis's own services. Prints one
# JSON object with what it saw. Usage: dmp_client.py ROBOT
import json
import sys
import time

import rospy
from std_msgs.msg import String
from dmp.srv import LearnDMPFromDemo, SetActiveDMP, GetDMPPlan
from dmp.msg import DMPTraj, DMPPoint
from praxis.srv import ListSkills, RunSkill


def makeLFDRequest(dims, traj, dt, K_gain, D_gain, num_bases):
    demotraj = DMPTraj()
    for i in range(len(traj)):
        pt = DMPPoint()
        pt.positions = traj[i]
        demotraj.points.append(pt)
        demotraj.times.append(dt * i)
    k_gains = [K_gain] * dims
    d_gains = [D_gain] * dims
    rospy.wait_for_service('learn_dmp_from_demo', timeout=20)
    lfd = rospy.ServiceProxy('learn_dmp_from_demo', LearnDMPFromDemo)
    return lfd(demotraj, k_gains, d_gains, num_bases)


def makeSetActiveRequest(dmp_list):
    sad = rospy.ServiceProxy('set_active_dmp', SetActiveDMP)
    return sad(dmp_list)


def makePlanRequest(x_0, x_dot_0, t_0, goal, goal_thresh, seg_length, tau, dt, integrate_iter):
    rospy.wait_for_service('get_dmp_plan', timeout=20)
    gdp = rospy.ServiceProxy('get_dmp_plan', GetDMPPlan)
    return gdp(x_0, x_dot_0, t_0, goal, goal_thresh, seg_length, tau, dt, integrate_iter)


if __name__ == '__main__':
    robot = sys.argv[1]
    rospy.init_node('dmp_tutorial_node')
    out = {}

    dims = 2
    dt = 1.0
    K = 100
    D = 2.0 * (K ** 0.5)
    num_bases = 4
    traj = [[1.0, 1.0], [2.0, 2.0], [3.0, 4.0], [6.0, 8.0]]
    resp = makeLFDRequest(dims, traj, dt, K, D, num_bases)
    out['tau'] = resp.tau
    out['dmps'] = len(resp.dmp_list)
    out['set_active'] = makeSetActiveRequest(resp.dmp_list).success

    x_0 = [0.0, 0.0]
    x_dot_0 = [0.0, 0.0]
    t_0 = 0
    goal = [8.0, 7.0]
    goal_thresh = [0.2, 0.2]
    seg_length = -1
    tau = 2 * resp.tau
    dt = 1.0
    integrate_iter = 5
    plan = makePlanRequest(x_0, x_dot_0, t_0, goal, goal_thresh, seg_length, tau, dt, integrate_iter)
    out['at_goal'] = plan.at_goal
    out['times'] = list(plan.plan.times)
    out['last'] = list(plan.plan.points[-1].positions)

    events = []
    sub = rospy.Subscriber('/praxis/%s/events' % robot, String, lambda m: events.append(json.loads(m.data)))
    deadline = time.time() + 20
    while sub.get_num_connections() == 0 and time.time() < deadline:
        time.sleep(0.02)
    rospy.wait_for_service('/praxis/%s/list_skills' % robot, timeout=20)
    skills = rospy.ServiceProxy('/praxis/%s/list_skills' % robot, ListSkills)()
    out['skills'] = [[s.name, s.version, list(s.joints)] for s in skills.skills]
    run = rospy.ServiceProxy('/praxis/%s/run_skill' % robot, RunSkill)
    r = run(id='py1', skill='wave', version=0, goal_joints=['j1'], goal=[0.25], duration=2.0, wait=True)
    out['run'] = [r.accepted, r.id, r.outcome, r.reason, r.final_error]
    bad = run(id='', skill='nope', version=0, goal_joints=[], goal=[], duration=0, wait=False)
    out['bad'] = [bad.accepted, bad.outcome, bad.reason]
    while not any(e.get('id') == 'py1' and e.get('type') == 'succeeded' for e in events) and time.time() < deadline:
        time.sleep(0.02)
    out['events'] = [[e.get('id'), e.get('type')] for e in events]
    print(json.dumps(out))
